// grove-hooks — POSIX semaphores: sem_wait/timedwait/clockwait/trywait/post.
//
// A greenlet whose real sem_trywait fails parks on the semaphore's address;
// every hooked sem_post (any thread) wakes one parked greenlet, which takes
// a token with trywait again (or parks again if another got it first).
// Process-shared semaphores get the real calls: a post from another process
// passes no hook. Interrupts, the C way: a kill makes the wait fail with
// ECANCELED (it stays pending), a grove::Timeout with ETIMEDOUT; under
// PropagateInterrupts they are thrown (no token taken either way).
#include <semaphore.h>

#include <atomic>
#include <cerrno>

#include "green.hpp"

using namespace grove::hooks::green;

namespace {

// glibc's struct new_sem: {uint64 data; int private; int pad}. `private` holds
// glibc's futex flag convention: 0 (LLL_PRIVATE) for a process-private
// semaphore, FUTEX_PRIVATE_FLAG (LLL_SHARED) for a process-shared one.
bool process_shared(const sem_t* s) noexcept { return reinterpret_cast<const int*>(s)[2] != 0; }

int wait_green(sem_t* s, std::optional<grove::Deadline> deadline) {
    const Real& R = real();
    Held held;
    for (;;) {
        if (R.sem_trywait(s) == 0) return 0;
        if (errno != EAGAIN) return -1;
        if (deadline && grove::now() >= *deadline) return errno = ETIMEDOUT, -1;
        const Park p = park(
            s, [&] { return R.sem_trywait(s) == 0; }, deadline, true, held);
        if (p == Park::Ready) return 0;
        if (p == Park::TimedOut) return errno = ETIMEDOUT, -1;
        if (held.any()) {
            if (held.should_throw()) held.rethrow();
            const int err = held.timeout() ? ETIMEDOUT : ECANCELED;
            held.drop_timeout();  // the C way: a Timeout is reported, a kill stays pending
            errno = err;
            return -1;
        }
    }
}

}  // namespace

extern "C" {

int sem_wait(sem_t* s) {
    if (process_shared(s) || !cooperate(__builtin_return_address(0))) return real().sem_wait(s);
    return wait_green(s, std::nullopt);
}

int sem_timedwait(sem_t* s, const timespec* abstime) {
    std::optional<grove::Deadline> d;
    if (process_shared(s) || !cooperate(__builtin_return_address(0)) || !valid_timespec(abstime) ||
        !(d = deadline_for(CLOCK_REALTIME, *abstime)))
        return real().sem_timedwait(s, abstime);
    return wait_green(s, d);
}

int sem_clockwait(sem_t* s, clockid_t clock, const timespec* abstime) {
    std::optional<grove::Deadline> d;
    if (process_shared(s) || !cooperate(__builtin_return_address(0)) || !valid_timespec(abstime) ||
        !(d = deadline_for(clock, *abstime)))
        return real().sem_clockwait(s, clock, abstime);
    return wait_green(s, d);
}

int sem_post(sem_t* s) {
    const int r = real().sem_post(s);
    if (r == 0 && anyone_parked_ordered() && !inside()) unpark(s, 1);
    return r;
}

}  // extern "C"
