// grove internal — the one switch function, and everything that must travel
// with a switch: C++ exception globals, errno, sanitizer notes, the canary.
//
// This is the only file pair that touches Boost.Context. A context is the
// detail::ContextState of a greenlet; the thread's main greenlet has one too
// (its stack is the thread's own).
#pragma once

#include "internal.hpp"

#include <cstddef>
#include <cstdint>

namespace grove::detail {

/// What travels with a switch (lib/core/context.cpp): saved only while suspended.
/// The sanitizers' handles exist only in their builds: every greenlet's record
/// holds one ContextState, so each byte here is a byte per idle greenlet.
struct ContextState {
    void* fctx = nullptr;       // Boost.Context fcontext_t; null while running or before start
    void* eh_caught = nullptr;  // __cxa_eh_globals.caughtExceptions of this greenlet
    unsigned eh_uncaught = 0;   // __cxa_eh_globals.uncaughtExceptions of this greenlet
    int saved_errno = 0;
    void* stack_base = nullptr;   // lowest usable byte of the stack (the canary sits here)
    std::size_t stack_size = 0;   // usable bytes above stack_base
    bool stack_guarded = false;   // a guard page sits below stack_base
    bool stack_in_arena = false;  // carved from a StackPool arena
    // Compact greenlets (lib/core/compact.hpp): their used stack is copied
    // out to `copy` and the pages given back while they are parked.
    bool compact = false;    // fixed at start()
    bool copy_out = false;   // parked and queued to be copied out (set by the switch away from it)
    std::uint32_t pins = 0;  // grove wait objects on its stack; while any, it stays in place
    void* copy = nullptr;    // its stack bytes while copied out, else null
#if GROVE_ASAN
    void* asan_fake_stack = nullptr;  // ASan's fake-stack handle while suspended
#endif
#if GROVE_TSAN
    void* tsan_fiber = nullptr;  // TSan fiber handle (pooled with the stack)
#endif
#if defined(GROVE_VALGRIND)
    unsigned valgrind_id = 0;  // VALGRIND_STACK_REGISTER id
#endif
};

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
