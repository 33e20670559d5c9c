// grove internal — raw stacks for run info and the monitor: capture return
// addresses cheaply now, symbolise them later (on another thread if need be).
#pragma once

#include "../internal.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

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

}  // namespace grove::detail
