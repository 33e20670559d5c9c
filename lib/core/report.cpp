// grove internal — unhandled-error reports (gevent's print_exception).
//
// Two halves with opposite constraints:
//  - the throw path (our __cxa_throw, at the bottom) runs on every C++ throw
//    in the process, so it only copies raw return addresses into a fixed
//    per-thread ring: no allocation and no symbol lookup;
//  - the report path (format_report) runs once per unhandled error and may be
//    slow: it symbolises with Boost.Stacktrace (libbacktrace reading DWARF),
//    or with dladdr when grove is built without it.
#include "report.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <mutex>
#include <string_view>
#include <typeinfo>
#include <vector>

#include <dlfcn.h>
#include <unwind.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <grove/detail/describe.hpp>
#include <grove/exceptions.hpp>

#include "frames.hpp"

#if GROVE_HAVE_STACKTRACE
#include <boost/stacktrace/frame.hpp>
#endif

#ifndef __GLIBCXX__
#error "report.cpp reads libstdc++'s exception_ptr (object pointer, __cxa_exception_type)"
#endif

namespace grove::detail {

namespace {

// ---------------------------------------------------------------------------
// Throw path
// ---------------------------------------------------------------------------

constexpr std::size_t kRingSize = 32;   // throws remembered per thread
constexpr std::size_t kMaxFrames = 64;  // deeper stacks keep their innermost frames

// One recorded throw. `object` is null while the slot is free, taken, or
// being written, so a lookup never sees a half-written record.
struct ThrowRecord {
    const void* object;
    const std::type_info* type;
    std::size_t depth;
    bool truncated;                               // the stack went on past kMaxFrames
    std::uintptr_t return_addresses[kMaxFrames];  // innermost (the thrower) first
};

// Constant-initialised and trivially destructible: touching it on the throw
// path costs a TLS access, with no lazy-init guard and no exit-time hook.
struct ThrowRing {
    ThrowRecord records[kRingSize];
    std::size_t next;  // the slot the next throw overwrites (the oldest)
    bool recording;    // set while unwinding for a record; a nested throw is not recorded
};

constinit thread_local ThrowRing t_ring{};

struct Walk {
    ThrowRecord* record;
    std::uintptr_t thrower;  // __cxa_throw's return address: the first frame worth keeping
    bool found_thrower;
};

// _Unwind_Backtrace calls this once per frame, innermost first. The first
// frames are the recorder's own; recording restarts at the frame that called
// our __cxa_throw: the thrower, or a sanitizer's interceptor of __cxa_throw
// (format_report() trims that one by name). If the caller's frame never
// shows up (an unwinder quirk), everything is kept and trimmed by name too.
_Unwind_Reason_Code collect_frame(_Unwind_Context* context, void* arg) {
    Walk& walk = *static_cast<Walk*>(arg);
    ThrowRecord& record = *walk.record;
    const std::uintptr_t return_address = _Unwind_GetIP(context);
    if (return_address == 0) return _URC_END_OF_STACK;
    if (!walk.found_thrower && return_address == walk.thrower) {
        walk.found_thrower = true;
        record.depth = 0;
    }
    if (record.depth == kMaxFrames) {
        record.truncated = true;
        return _URC_END_OF_STACK;
    }
    record.return_addresses[record.depth++] = return_address;
    return _URC_NO_REASON;
}

void record_throw(const void* object, const std::type_info* type, std::uintptr_t thrower) noexcept {
    ThrowRing& ring = t_ring;
    // A throw from inside the unwinder, or from a signal handler that
    // interrupted us, must neither recurse nor scribble on the slot in use.
    if (ring.recording) return;
    ring.recording = true;
    ThrowRecord& record = ring.records[ring.next];
    ring.next = (ring.next + 1) % kRingSize;
    record.object = nullptr;
    record.depth = 0;
    record.truncated = false;
    Walk walk{&record, thrower, false};
    _Unwind_Backtrace(collect_frame, &walk);
    record.type = type;
    record.object = object;
    ring.recording = false;
}

using CxaThrow = void (*)(void*, std::type_info*, void (*)(void*));

std::atomic<CxaThrow> g_real_cxa_throw{nullptr};

[[noreturn]] void die(const char* message) noexcept {
    std::fputs(message, stderr);
    std::abort();
}

// Looked up on first use rather than at load time: a static initialiser that
// throws may run before ours. Racing threads all store the same address.
CxaThrow real_cxa_throw() noexcept {
    CxaThrow real = g_real_cxa_throw.load(std::memory_order_relaxed);
    if (real != nullptr) return real;
    // RTLD_NEXT: the definition after ours in lookup order — libstdc++'s, or
    // a sanitizer interceptor that in turn finds libstdc++'s the same way.
    real = reinterpret_cast<CxaThrow>(dlsym(RTLD_NEXT, "__cxa_throw"));
    if (real == nullptr)
        die("grove: dlsym(RTLD_NEXT, \"__cxa_throw\") found no C++ runtime to forward "
            "throws to (a static libstdc++ cannot be interposed); aborting\n");
    g_real_cxa_throw.store(real, std::memory_order_relaxed);
    return real;
}

// ---------------------------------------------------------------------------
// Report path
// ---------------------------------------------------------------------------

// What take_throw_trace() hands out behind shared_ptr<void>.
struct ThrowTrace {
    std::vector<std::uintptr_t> return_addresses;  // innermost first
    bool truncated = false;
};

// libstdc++'s exception_ptr is exactly the thrown object's address, the same
// pointer __cxa_throw received.
const void* thrown_object(const std::exception_ptr& e) noexcept {
    static_assert(sizeof(std::exception_ptr) == sizeof(void*));
    return *reinterpret_cast<void* const*>(&e);
}

// g++ splits and specialises functions ("divide(int, int) [clone .cold]",
// "[clone .isra.0]"); the reader wrote one function.
std::string without_clone_suffix(std::string name) {
    const std::size_t clone = name.find(" [clone .");
    if (clone != std::string::npos) name.erase(clone);
    return name;
}

// __cxa_throw itself and sanitizer interceptors of it.
bool is_throw_machinery(const Frame& frame) {
    return name_contains(frame, {"__cxa_throw", "__interceptor_", "__asan", "__sanitizer"});
}

// `frames` is innermost first.
void trim(std::vector<Frame>& frames) {
    auto first_kept = frames.begin();
    while (first_kept != frames.end() && is_throw_machinery(*first_kept)) ++first_kept;
    frames.erase(frames.begin(), first_kept);

    const auto entry = std::find_if(frames.begin(), frames.end(), is_runtime_entry);
    if (entry == frames.end()) return;
    frames.erase(entry, frames.end());
    // Keep at least the throw point, even when it is std:: code itself.
    while (frames.size() > 1 && is_glue(frames.back())) frames.pop_back();
}

std::string format_frame(const Frame& frame) {
    // Nameless code is shown by its offset in the object, which survives
    // address randomisation: `addr2line -e <object> <offset>` finds it.
    const std::string function =
        frame.function.empty() ? fmt::format("{:#x}", frame.pc - frame.object_base) : frame.function;
    if (!frame.file.empty() && frame.line != 0)
        return fmt::format("  File \"{}\", line {}, in {}\n", frame.file, frame.line, function);
    return fmt::format("  File \"{}\", in {}\n", frame.object.empty() ? "?" : frame.object, function);
}

// Python prints no "Traceback" header for an exception that has no frames
// (make_exception_ptr, or a trace already taken); neither do we.
std::string format_traceback(const std::shared_ptr<void>& trace) {
    const auto* recorded = static_cast<const ThrowTrace*>(trace.get());
    if (recorded == nullptr) return {};
    std::vector<Frame> frames;
    frames.reserve(recorded->return_addresses.size());
    for (const std::uintptr_t return_address : recorded->return_addresses) frames.push_back(symbolise(return_address));
    trim(frames);
    if (frames.empty()) return {};
    std::string out = "Traceback (most recent call last):\n";
    if (recorded->truncated)
        out += fmt::format("  ... outer frames not recorded (only the innermost {})\n", kMaxFrames);
    for (auto frame = frames.rbegin(); frame != frames.rend(); ++frame) out += format_frame(*frame);
    return out;
}

template <class E>
std::string what_of(const E& error) {
    const char* what = error.what();
    return what != nullptr ? what : "";
}

constexpr const char* kLoggerName = "grove";

}  // namespace

Frame symbolise(std::uintptr_t return_address) {
    Frame frame;
    // A return address is the instruction after the call; one byte back is
    // the call itself, whose line is the one the reader wants.
    frame.pc = return_address - 1;
    const auto* pc = reinterpret_cast<const void*>(frame.pc);
#if GROVE_HAVE_STACKTRACE
    const boost::stacktrace::frame debug_info(pc);
    frame.function = debug_info.name();
    frame.file = debug_info.source_file();
    frame.line = debug_info.source_line();
#endif
    Dl_info info{};
    if (dladdr(pc, &info) != 0) {
        if (info.dli_fname != nullptr) frame.object = info.dli_fname;
        frame.object_base = reinterpret_cast<std::uintptr_t>(info.dli_fbase);
        if (frame.function.empty() && info.dli_sname != nullptr) frame.function = demangle(info.dli_sname);
    }
    frame.function = without_clone_suffix(std::move(frame.function));
    // DWARF paths are often relative to the build directory ("../src/x.cpp")
    // or go through it ("/b/../src/x.cpp"); the second kind can be tidied.
    if (!frame.file.empty()) frame.file = std::filesystem::path(frame.file).lexically_normal().string();
    return frame;
}

std::shared_ptr<void> take_throw_trace(const std::exception_ptr& e) {
    const void* object = thrown_object(e);
    if (object == nullptr) return {};
    ThrowRing& ring = t_ring;
    // Newest first: an address reused by a later exception is that one's.
    for (std::size_t age = 1; age <= kRingSize; ++age) {
        ThrowRecord& record = ring.records[(ring.next + kRingSize - age) % kRingSize];
        if (record.object != object || record.type != e.__cxa_exception_type()) continue;
        auto trace = std::make_shared<ThrowTrace>();
        trace->return_addresses.assign(record.return_addresses, record.return_addresses + record.depth);
        trace->truncated = record.truncated;
        // Taken: an exception created later at this address without a throw
        // (make_exception_ptr) must not borrow these frames.
        record.object = nullptr;
        return trace;
    }
    return {};
}

std::string exception_type_name(const std::exception_ptr& e) {
    if (!e) return "<no exception>";
    const std::type_info* type = e.__cxa_exception_type();
    return type != nullptr ? type_name(*type) : "<unknown type>";
}

// std::rethrow_exception does not go through __cxa_throw, so this leaves the
// thread's ring untouched.
std::string exception_message(const std::exception_ptr& e) {
    if (!e) return {};
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& error) {
        return what_of(error);
    } catch (const GreenletExit& error) {
        return what_of(error);
    } catch (const TimeoutError& error) {
        return what_of(error);
    } catch (...) {
        return {};
    }
}

std::string format_report(const std::string& description, const std::exception_ptr& e,
                          const std::shared_ptr<void>& trace) {
    const std::string type = exception_type_name(e);
    const std::string message = exception_message(e);
    std::string out = format_traceback(trace);
    out += message.empty() ? type : type + ": " + message;
    out += '\n';
    out += description + " failed with " + type;
    return out;
}

void report_error(const std::string& description, const std::exception_ptr& e, const std::shared_ptr<void>& trace) {
    // A report is best effort: its failure (out of memory, a broken logger)
    // must not become a second error in the hub that prints it.
    try {
        const auto log = logger();
        log->error("{}", format_report(description, e, trace));
        log->flush();
    } catch (...) {
        std::fputs("grove: an unhandled error occurred, and printing its report failed\n", stderr);
    }
}

std::shared_ptr<spdlog::logger> logger() {
    // Serialises create-then-set_pattern, so no thread going through here
    // prints with spdlog's default pattern in between.
    static std::mutex creation;
    const std::lock_guard lock(creation);
    if (auto existing = spdlog::get(kLoggerName)) return existing;
    try {
        // The registry's factory applies the user's global settings (level,
        // SPDLOG_LEVEL=grove=off, error handler) to it.
        auto created = spdlog::stderr_logger_mt(kLoggerName);
        created->set_pattern("%v");
        return created;
    } catch (const spdlog::spdlog_ex&) {
        // Another thread registered "grove" without going through here.
        if (auto existing = spdlog::get(kLoggerName)) return existing;
        throw;
    }
}

}  // namespace grove::detail

// Interposes libstdc++'s __cxa_throw: every `throw` in the process comes here
// first, libstdc++'s own std::__throw_* included (they call it through the
// PLT). Only raw return addresses are recorded; see the top of the file.
//
// Named through an asm label: g++ declares __cxa_throw(void*, void*, ...)
// itself at the first throw expression of a translation unit, and a C
// function cannot be redeclared with cxxabi.h's type_info* parameter.
extern "C" [[noreturn]] void grove_interposed_cxa_throw(void* object, std::type_info* type,
                                                        void (*destroy)(void*)) __asm__("__cxa_throw");

extern "C" [[noreturn]] void grove_interposed_cxa_throw(void* object, std::type_info* type, void (*destroy)(void*)) {
    const auto thrower = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
    grove::detail::record_throw(object, type, thrower);
    grove::detail::real_cxa_throw()(object, type, destroy);
    // The real __cxa_throw never returns; this keeps [[noreturn]] honest.
    std::abort();
}
