// grove internal — the one switch function, and everything that must travel
// with a switch: C++ exception globals, errno, sanitizer notes, the canary.
//
// This is the only file pair that touches Boost.Context. A context is the
// detail::ContextState of a greenlet; the thread's main greenlet has one too
// (its stack is the thread's own).
#pragma once

#include "internal.hpp"

#include <cstddef>

#include <grove/detail/greenlet_state.hpp>

namespace grove::detail {

/// Per-thread values the switch needs; filled once when the hub is made.
void context_thread_init(ContextState& main_context);

/// Prepares `c` (stack already set) so that the first switch into it calls
/// `entry()` on the new stack. `entry` must never return.
void context_make(ContextState& c, void (*entry)());

/// Suspends `from` (the running context) and resumes `to`. Returns — "the
/// second time" — when some context switches back to `from`.
void context_switch(ContextState& from, ContextState& to) noexcept;

/// The last switch of a dying context: resumes `to`, then runs `after(arg)` on
/// `to`'s stack before `to` continues (so `after` may free `from`'s stack).
/// `after` must not switch.
[[noreturn]] void context_exit(ContextState& from, ContextState& to, void (*after)(void*), void* arg) noexcept;

/// Aborts with a clear message if an unguarded stack's canary was overwritten.
void check_canary(const ContextState& c, const char* who) noexcept;

}  // namespace grove::detail
