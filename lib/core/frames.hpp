// grove internal — stacks: capture return addresses cheaply now, symbolise
// them later (on another thread if need be), and tell the runtime's frames
// from the user's. Error reports (report.cpp) and the stacks of live
// greenlets (run info, the monitor: format_stack) trim with the same lists.
#pragma once

#include "internal.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "report.hpp"

namespace grove::detail {

/// Return addresses of the calling thread's current stack, innermost first.
/// Allocation-free, usable in a signal handler (the unwinder's first use
/// loads its tables: call it once outside the handler beforehand).
std::size_t capture_stack(std::uintptr_t* pcs, std::size_t capacity) noexcept;

/// Python-style lines, outermost first, each `indent` + File "x.cpp", line
/// 12, in f(int)`. The runtime's frames are trimmed: the unwinder, the
/// switch and the wait machinery at the inner end (grove::detail::*), the
/// greenlet trampoline, thread and process start at the outer end, and the
/// std::invoke glue between them and the user's function.
std::string format_stack(const std::uintptr_t* pcs, std::size_t depth, const std::string& indent);

/// Whether the frame's function name contains any of `needles`.
bool name_contains(const Frame& frame, std::initializer_list<std::string_view> needles);

/// Where user code ends and the greenlet trampoline, thread start or process
/// start begins: this frame and everything outward of it is the runtime's.
bool is_runtime_entry(const Frame& frame);

/// Glue between the runtime entry and the user's callable: std::__invoke,
/// std::apply, std::thread's state, libstdc++'s nameless internals, and
/// grove's own Greenlet<R>::run_body and CallableGreenlet. A nameless frame
/// elsewhere may be the user's own code (no debug info), so it is not glue.
bool is_glue(const Frame& frame);

}  // namespace grove::detail
