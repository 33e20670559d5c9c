// grove — names for error reports: demangled types, function signatures from
// an address, and gevent's cut of long argument texts.
#include <grove/detail/describe.hpp>

#include <cstdlib>
#include <memory>
#include <string_view>

#include <cxxabi.h>
#include <dlfcn.h>

#if GROVE_HAVE_STACKTRACE
#include <boost/stacktrace/frame.hpp>
#endif

namespace grove::detail {

namespace {

// gevent's reprlib limit for one argument.
constexpr std::size_t kMaxArgumentChars = 50;
constexpr std::string_view kEllipsis = "...";

struct FreeDeleter {
    void operator()(char* p) const noexcept { std::free(p); }
};

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The symbol table only knows exported symbols (the executable's own functions
// need -rdynamic), and only an exact hit is the function itself.
std::string name_from_symbol_table(const void* address) {
    Dl_info info{};
    if (dladdr(address, &info) == 0 || info.dli_sname == nullptr || info.dli_saddr != address) return {};
    return demangle(info.dli_sname);
}

}  // namespace

std::string demangle(const char* mangled) {
    if (mangled == nullptr) return {};
    int status = 0;
    const std::unique_ptr<char, FreeDeleter> plain(abi::__cxa_demangle(mangled, nullptr, nullptr, &status));
    // Not a mangled name (a C function, "main"): it is already readable.
    return status == 0 && plain ? std::string(plain.get()) : std::string(mangled);
}

std::string function_name(const void* address) {
    std::string name;
#if GROVE_HAVE_STACKTRACE
    // Debug info first: it also names functions the dynamic symbol table hides.
    name = boost::stacktrace::frame(address).name();
#endif
    if (name.empty()) name = name_from_symbol_table(address);
    if (name.empty()) name = fmt::format("<function at {}>", address);
    return name;
}

std::string shorten(std::string text) {
    if (text.size() <= kMaxArgumentChars) return text;
    std::size_t cut = kMaxArgumentChars - kEllipsis.size();
    // Never split a UTF-8 sequence: the report must stay valid text.
    while (cut > 0 && is_utf8_continuation(text[cut])) --cut;
    text.resize(cut);
    text += kEllipsis;
    return text;
}

}  // namespace grove::detail
