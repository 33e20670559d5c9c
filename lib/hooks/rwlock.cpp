// grove-hooks — pthread_rwlock_* (std::shared_mutex, std::shared_timed_mutex)
// cooperate.
//
// The real rwlock is the truth (readers share it, a writer excludes both),
// reached only through its trylock forms from greenlets. glibc does not
// record reader owners, so a greenlet that finds it busy parks on its
// address with the same 1..10 ms backoff as a mutex held by another thread,
// and every hooked unlock wakes all greenlets parked on it (waiting readers
// may all get in together). Interrupts: held, the lock still taken, then
// pending (as for mutexes).
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <climits>

#include "green.hpp"

using namespace grove::hooks::green;

namespace {

constexpr auto kBackoffMax = std::chrono::milliseconds(10);

template <class Try>
int acquire(pthread_rwlock_t* rw, std::optional<grove::Deadline> deadline, Try&& attempt) {
    Held held;
    held.hold_pending();
    grove::Clock::duration backoff = std::chrono::milliseconds(1);
    for (;;) {
        // Never thrown, even under PropagateInterrupts: glibc declares the
        // rwlock functions noexcept, so it would terminate the process.
        int r = attempt();
        if (r != EBUSY) return r;
        if (deadline && grove::now() >= *deadline) return ETIMEDOUT;
        std::optional<grove::Deadline> until = grove::now() + backoff;
        if (deadline && *deadline < *until) until = deadline;
        backoff = std::min<grove::Clock::duration>(backoff * 2, kBackoffMax);
        const Park p = park(
            rw,
            [&] {
                r = attempt();
                return r != EBUSY;
            },
            until, true, held);
        if (p == Park::Ready) return r;
    }
}

int rd(pthread_rwlock_t* rw, std::optional<grove::Deadline> d) {
    return acquire(rw, d, [rw] { return real().rwlock_tryrdlock(rw); });
}
int wr(pthread_rwlock_t* rw, std::optional<grove::Deadline> d) {
    return acquire(rw, d, [rw] { return real().rwlock_trywrlock(rw); });
}

}  // namespace

extern "C" {

int pthread_rwlock_rdlock(pthread_rwlock_t* rw) {
    const Real& R = real();
    if (R.rwlock_tryrdlock(rw) == 0) return 0;
    if (!cooperate(__builtin_return_address(0))) return R.rwlock_rdlock(rw);
    return rd(rw, std::nullopt);
}

int pthread_rwlock_wrlock(pthread_rwlock_t* rw) {
    const Real& R = real();
    if (R.rwlock_trywrlock(rw) == 0) return 0;
    if (!cooperate(__builtin_return_address(0))) return R.rwlock_wrlock(rw);
    return wr(rw, std::nullopt);
}

int pthread_rwlock_clockrdlock(pthread_rwlock_t* rw, clockid_t clock, const timespec* abstime) {
    const Real& R = real();
    std::optional<grove::Deadline> d;
    if (!cooperate(__builtin_return_address(0)) || !valid_timespec(abstime) || !(d = deadline_for(clock, *abstime)))
        return R.rwlock_clockrdlock(rw, clock, abstime);
    return rd(rw, d);
}

int pthread_rwlock_timedrdlock(pthread_rwlock_t* rw, const timespec* abstime) {
    const Real& R = real();
    std::optional<grove::Deadline> d;
    if (!cooperate(__builtin_return_address(0)) || !valid_timespec(abstime) ||
        !(d = deadline_for(CLOCK_REALTIME, *abstime)))
        return R.rwlock_timedrdlock(rw, abstime);
    return rd(rw, d);
}

int pthread_rwlock_clockwrlock(pthread_rwlock_t* rw, clockid_t clock, const timespec* abstime) {
    const Real& R = real();
    std::optional<grove::Deadline> d;
    if (!cooperate(__builtin_return_address(0)) || !valid_timespec(abstime) || !(d = deadline_for(clock, *abstime)))
        return R.rwlock_clockwrlock(rw, clock, abstime);
    return wr(rw, d);
}

int pthread_rwlock_timedwrlock(pthread_rwlock_t* rw, const timespec* abstime) {
    const Real& R = real();
    std::optional<grove::Deadline> d;
    if (!cooperate(__builtin_return_address(0)) || !valid_timespec(abstime) ||
        !(d = deadline_for(CLOCK_REALTIME, *abstime)))
        return R.rwlock_timedwrlock(rw, abstime);
    return wr(rw, d);
}

int pthread_rwlock_unlock(pthread_rwlock_t* rw) {
    const int r = real().rwlock_unlock(rw);
    if (r == 0 && anyone_parked_ordered() && !inside()) unpark(rw, INT_MAX);
    return r;
}

}  // extern "C"
