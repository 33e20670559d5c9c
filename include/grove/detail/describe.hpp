// grove — the default describe() text: a callable's signature and its bound
// arguments, formatted lazily (only when an error report is printed).
#pragma once

#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>

#include <fmt/format.h>

namespace grove::detail {

/// The demangled name of a type ("std::domain_error", "main::{lambda()#1}").
std::string demangle(const char* mangled);
inline std::string type_name(const std::type_info& t) { return demangle(t.name()); }

/// A function's name and parameter types from its address ("divide(int, int)"),
/// found through debug info/the symbol table; "<function at 0x...>" if unknown.
std::string function_name(const void* address);

/// Cuts a formatted argument to gevent's ~50 characters.
std::string shorten(std::string text);

template <class T>
std::string format_argument(const T& value) {
    if constexpr (fmt::is_formattable<T>::value) {
        if constexpr (std::is_convertible_v<const T&, std::string_view>)
            return shorten(fmt::format("\"{}\"", value));
        else
            return shorten(fmt::format("{}", value));
    } else {
        return "<" + type_name(typeid(T)) + ">";
    }
}

template <class F>
std::string callable_name(const F& f) {
    if constexpr (std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>)
        return function_name(reinterpret_cast<const void*>(f));
    else
        return type_name(typeid(F));
}

/// "divide(int, int)(1, 0)" / "main::{lambda()#1}()".
template <class F, class... Args>
std::string describe_call(const F& f, const std::tuple<Args...>& args) {
    std::string out = callable_name(f) + "(";
    std::apply(
        [&out](const auto&... a) {
            std::size_t i = 0;
            ((out += (i++ ? ", " : "") + format_argument(a)), ...);
        },
        args);
    return out + ")";
}

}  // namespace grove::detail
