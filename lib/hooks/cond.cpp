// grove-hooks — pthread_cond_wait/timedwait/clockwait/signal/broadcast
// (std::condition_variable, std::condition_variable_any) cooperate.
//
// A greenlet waiter never touches the real condvar: it registers on the
// condvar's address in the park registry *before* releasing the mutex (so a
// signal sent right after the release finds it), parks, then retakes the
// mutex cooperatively. signal/broadcast wake parked greenlets (any thread's,
// through their hubs) and then call the real function for waiting plain
// threads. POSIX allows a signal to wake more than one waiter, and spurious
// wake-ups: both can happen here.
//
// Interrupts. libstdc++'s condition_variable::wait is noexcept, so nothing
// is ever thrown from these hooks, PropagateInterrupts or not. A kill or a
// grove::Timeout that reaches a waiting greenlet ends the wait as a
// spurious wake-up (0; ETIMEDOUT from the timed forms for a Timeout), with
// the mutex held again, and stays pending: it is thrown at the greenlet's
// next grove blocking call outside hooks, and a kill also makes its next
// blocking hooked I/O call fail with ECANCELED. While it is pending, further
// condvar waits park normally (a predicate loop waits for its signal rather
// than spin).
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <climits>

#include "green.hpp"
#include "mutex.hpp"

using namespace grove::hooks::green;

namespace {

int wait_green(pthread_cond_t* c, pthread_mutex_t* m, std::optional<grove::Deadline> deadline) {
    Held held;
    held.hold_pending();
    int result = 0;
    {
        ParkCore core(c, true, ~0u);
        if (const int r = unlock_any(m)) return r;  // EPERM: not the holder
        const Park p = core.wait(deadline, held);
        if (p == Park::TimedOut || (deadline && held.timeout())) result = ETIMEDOUT;
    }
    // Retake the mutex whatever happened: the caller's frames assume it held.
    lock_green(m, std::nullopt, held, false);
    return result;
}

bool usable(pthread_mutex_t* m, const void* ret) { return plain_kind(m) && cooperate(ret); }

/// A plain thread about to release `m` inside the real wait, where no hook
/// sees it: tell greenlets parked on `m` now (they retry, then back off).
void before_real_wait(pthread_mutex_t* m) {
    if (anyone_parked_ordered() && !inside()) unpark(m, 1);
}

int timed(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock, const timespec* abstime, const void* ret,
          bool realtime_form) {
    const Real& R = real();
    std::optional<grove::Deadline> deadline;
    if (!usable(m, ret) || !valid_timespec(abstime) || !(deadline = deadline_for(clock, *abstime))) {
        before_real_wait(m);
        return realtime_form ? R.cond_timedwait(c, m, abstime) : R.cond_clockwait(c, m, clock, abstime);
    }
    return wait_green(c, m, deadline);
}

void wake(pthread_cond_t* c, int n) {
    if (anyone_parked_ordered() && !inside()) unpark(c, n);
}

}  // namespace

extern "C" {

int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
    if (!usable(m, __builtin_return_address(0))) {
        before_real_wait(m);
        return real().cond_wait(c, m);
    }
    return wait_green(c, m, std::nullopt);
}

int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const timespec* abstime) {
    return timed(c, m, CLOCK_REALTIME, abstime, __builtin_return_address(0), true);
}

int pthread_cond_clockwait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock, const timespec* abstime) {
    return timed(c, m, clock, abstime, __builtin_return_address(0), false);
}

int pthread_cond_signal(pthread_cond_t* c) {
    wake(c, 1);
    return real().cond_signal(c);
}

int pthread_cond_broadcast(pthread_cond_t* c) {
    wake(c, INT_MAX);
    return real().cond_broadcast(c);
}

}  // extern "C"
