// grove-hooks internal — the cooperative mutex lock/unlock that the mutex
// hooks and the condition variable hooks (which release and retake the
// caller's mutex) share.
#pragma once

#include <pthread.h>

#include <optional>

#include <grove/duration.hpp>

#include "green.hpp"

namespace grove::hooks::green {

/// Whether `m` is a mutex grove may lock cooperatively: not process-shared,
/// robust or priority-inheritance/protect (those get the real calls).
bool plain_kind(const pthread_mutex_t* m) noexcept;

/// Locks `m` for the current greenlet (which must cooperate), parking while
/// another holds it. 0, EDEADLK (an error-checking mutex the greenlet already
/// holds, or a LoopExit: the hub is ending), EAGAIN (recursion overflow) or ETIMEDOUT
/// past `deadline`. Interrupts are kept in `held`; with `may_throw` and
/// PropagateInterrupts one is rethrown (the lock not taken). The hooks pass
/// false: glibc declares pthread_mutex_lock noexcept (__THROWNL), so an
/// exception thrown out of it terminates the process whatever the caller.
int lock_green(pthread_mutex_t* m, std::optional<Deadline> deadline, Held& held, bool may_throw);

/// Unlocks `m` with greenlet ownership rules (EPERM when an error-checking
/// or recursive mutex is held by another greenlet), then wakes one parked
/// waiter. Any caller.
int unlock_any(pthread_mutex_t* m) noexcept;

}  // namespace grove::hooks::green
