// grove internal — stack capture (_Unwind_Backtrace) and formatting, with
// lib/report.cpp's symboliser, in the same format as its tracebacks; the
// name lists that trim the runtime's frames from both.
#include "frames.hpp"

#include <algorithm>
#include <exception>
#include <vector>

#include <dlfcn.h>
#include <unwind.h>

#include <fmt/format.h>

#include <grove/detail/describe.hpp>

namespace grove::detail {
namespace {

struct Walk {
    std::uintptr_t* pcs;
    std::size_t capacity;
    std::size_t depth;
};

_Unwind_Reason_Code collect(_Unwind_Context* context, void* arg) {
    Walk& walk = *static_cast<Walk*>(arg);
    const std::uintptr_t pc = _Unwind_GetIP(context);
    if (pc == 0 || walk.depth == walk.capacity) return _URC_END_OF_STACK;
    walk.pcs[walk.depth++] = pc;
    return _URC_NO_REASON;
}

bool starts_with_any(const std::string& name, std::initializer_list<std::string_view> prefixes) {
    for (const std::string_view p : prefixes)
        if (name.starts_with(p)) return true;
    return false;
}

// The shared object of the C++ runtime itself (libstdc++.so.6, or the
// executable when it is linked in statically).
const std::string& cxx_runtime_object() {
    static const std::string path = [] {
        Dl_info info{};
        const bool found = dladdr(reinterpret_cast<const void*>(&std::terminate), &info) != 0 && info.dli_fname;
        return found ? std::string(info.dli_fname) : std::string();
    }();
    return path;
}

// The capture itself, the probe, the switch and the hub's internals; a
// signal handler's frames (the monitor's capture) and the kernel's restorer.
bool is_inner_machinery(const Frame& f) {
    return f.function.empty() ||
           starts_with_any(f.function, {"grove::detail::", "grove::util::", "__restore_rt", "_Unwind"}) ||
           name_contains(f, {"capture_stack", "grove_jump_fcontext", "jump_fcontext"});
}

bool is_grove(const Frame& f) { return f.function.starts_with("grove::"); }

// Of the grove calls at the inner end, only the outermost one stays: the
// call the user made (grove::sleep, GreenletBase::join), not its insides.
void trim(std::vector<Frame>& frames) {
    auto first = std::find_if_not(frames.begin(), frames.end(), is_inner_machinery);
    if (first == frames.end()) first = frames.begin();  // nothing but machinery: show it all
    while (first + 1 < frames.end() && is_grove(*first) && is_grove(*(first + 1))) ++first;
    frames.erase(frames.begin(), first);
    const auto entry = std::find_if(frames.begin(), frames.end(), is_runtime_entry);
    frames.erase(entry, frames.end());
    while (!frames.empty() && is_glue(frames.back())) frames.pop_back();
}

// "grove::sleep(std::chrono::duration<double, ...>)" → "grove::sleep(...)":
// the runtime's own signatures say nothing the reader needs.
std::string shortened(const std::string& function) {
    if (!function.starts_with("grove::") || function.back() != ')') return function;
    int depth = 0;
    for (std::size_t i = function.size(); i-- > 0;) {
        if (function[i] == ')') ++depth;
        if (function[i] == '(' && --depth == 0)
            return function.size() - i > 2 ? function.substr(0, i) + "(...)" : function;
    }
    return function;
}

std::string format_frame(const Frame& f, const std::string& indent) {
    const std::string function =
        f.function.empty() ? fmt::format("{:#x}", f.pc - f.object_base) : shortened(f.function);
    if (!f.file.empty() && f.line != 0)
        return fmt::format("{}File \"{}\", line {}, in {}\n", indent, f.file, f.line, function);
    return fmt::format("{}File \"{}\", in {}\n", indent, f.object.empty() ? "?" : f.object, function);
}

}  // namespace

bool name_contains(const Frame& frame, std::initializer_list<std::string_view> needles) {
    for (const std::string_view needle : needles)
        if (frame.function.find(needle) != std::string::npos) return true;
    return false;
}

bool is_runtime_entry(const Frame& frame) {
    return name_contains(frame, {"grove::detail::Runtime", "boost::context", "make_fcontext", "start_thread",
                                 "__libc_start", "trampoline("});
}

bool is_glue(const Frame& frame) {
    if (frame.function.empty()) return !frame.object.empty() && frame.object == cxx_runtime_object();
    return frame.function.starts_with("std::") || frame.function.starts_with("grove::Greenlet<") ||
           frame.function.starts_with("grove::detail::CallableGreenlet<");
}

std::size_t capture_stack(std::uintptr_t* pcs, std::size_t capacity) noexcept {
    Walk walk{pcs, capacity, 0};
    _Unwind_Backtrace(collect, &walk);
    return walk.depth;
}

std::string format_stack(const std::uintptr_t* pcs, std::size_t depth, const std::string& indent) {
    std::vector<Frame> frames;
    frames.reserve(depth);
    for (std::size_t i = 0; i < depth; ++i) frames.push_back(symbolise(pcs[i]));
    trim(frames);
    std::string out;
    for (auto f = frames.rbegin(); f != frames.rend(); ++f) out += format_frame(*f, indent);
    return out;
}

}  // namespace grove::detail
