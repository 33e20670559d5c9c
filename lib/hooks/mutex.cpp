// grove-hooks — pthread_mutex_lock/trylock/timedlock/clocklock/unlock
// (std::mutex, std::recursive_mutex, std::timed_mutex...) cooperate.
//
// The real mutex is the truth: a greenlet holds it only after a successful
// real trylock, so plain threads and greenlets exclude each other both ways.
// Uncontended, lock is the real trylock (one CAS) and unlock the real unlock
// plus one load of the "anyone parked" count.
//
// Contended: when the holder is a greenlet of the same hub (the mutex's
// owner tid is this thread's), the waiter parks with no timer at all and the
// holder's unlock wakes it. (The park still keeps the hub alive: the holder
// may hand the mutex to a plain thread, whose unlock then wakes it from
// there; so greenlets deadlocked on each other hang, as threads would.) When the holder is another thread, it parks on
// the same registry, and that thread's hooked unlock posts the wake-up to
// this hub (a few µs); because a holder may also release without a hook
// (glibc's own pthread_cond_wait unlocks internally), such a park also
// retries after a backoff of 1, 2, 4, 8 then every 10 ms.
//
// Interrupts never escape: glibc declares pthread_mutex_lock noexcept, so a
// kill or Timeout during the wait is held, the lock is still taken, and the
// interrupt is pending afterwards (thrown at the next grove wait outside hooks;
// a kill also fails the next blocking hooked I/O call with ECANCELED).
//
// glibc keeps one owner per *thread*; greenlets of one thread would all pass
// a recursive mutex or an error-checking check. So, for those two types, the
// owning greenlet is recorded per thread and checked before glibc's.
#include "mutex.hpp"

#include <cerrno>
#include <climits>
#include <unordered_map>

#include <grove/exceptions.hpp>

#include "green.hpp"

namespace grove::hooks::green {
namespace {

// glibc's __kind bits (nptl/pthreadP.h): type in the low two bits; robust,
// priority inheritance/protection and process-shared above.
constexpr int kTypeMask = 3;
constexpr int kSpecialBits = 16 | 32 | 64 | 128;

int kind_of(const pthread_mutex_t* m) noexcept { return __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED); }
int owner_of(const pthread_mutex_t* m) noexcept { return __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED); }
bool owned_type(int kind) noexcept {
    const int t = kind & kTypeMask;
    return t == PTHREAD_MUTEX_RECURSIVE_NP || t == PTHREAD_MUTEX_ERRORCHECK_NP;
}
bool errorcheck(int kind) noexcept { return (kind & kTypeMask) == PTHREAD_MUTEX_ERRORCHECK_NP; }

// Recursive and error-checking mutexes this thread's greenlets hold → greenlet.
[[gnu::tls_model("initial-exec")]] thread_local int t_owned = 0;
thread_local std::unordered_map<const void*, const void*> t_owners;

const void* greenlet_owner(const pthread_mutex_t* m) {
    if (!t_owned) return nullptr;
    auto it = t_owners.find(m);
    return it == t_owners.end() ? nullptr : it->second;
}

/// One attempt, never blocking: 0, EBUSY, EDEADLK or EAGAIN.
int try_acquire(pthread_mutex_t* m, int kind, const void* me) {
    const Real& R = real();
    if (!owned_type(kind)) return R.mutex_trylock(m);
    if (owner_of(m) == my_tid()) {
        const void* holder = greenlet_owner(m);
        if (holder && holder != me) return EBUSY;
        if (holder == me && errorcheck(kind)) return EDEADLK;
        return R.mutex_trylock(m);  // recursion (or a thread-level hold: glibc's rules)
    }
    const int r = R.mutex_trylock(m);
    if (r == 0 && me) {
        InsideHook guard;
        t_owners[m] = me;
        t_owned = static_cast<int>(t_owners.size());
    }
    return r;
}

constexpr auto kBackoffMax = std::chrono::milliseconds(10);

}  // namespace

bool plain_kind(const pthread_mutex_t* m) noexcept { return !(kind_of(m) & kSpecialBits); }

int lock_green(pthread_mutex_t* m, std::optional<Deadline> deadline, Held& held, bool may_throw) {
    const int kind = kind_of(m);
    const void* me = current_greenlet();
    Clock::duration backoff = std::chrono::milliseconds(1);
    held.hold_pending();
    for (;;) {
        if (may_throw && held.should_throw()) held.rethrow();
        int r = try_acquire(m, kind, me);
        if (r != EBUSY) return r;
        const bool local = owner_of(m) == my_tid();
        std::optional<Deadline> until = deadline;
        if (!local) {
            const Deadline retry = grove::now() + backoff;
            if (!until || retry < *until) until = retry;
            backoff = std::min<Clock::duration>(backoff * 2, kBackoffMax);
        }
        if (deadline && grove::now() >= *deadline) return ETIMEDOUT;
        try {
            const Park p = park(
                m,
                [&] {
                    r = try_acquire(m, kind, me);
                    return r != EBUSY;
                },
                // Always wakeable from other threads (keeps the hub alive):
                // a holder of this hub may hand the mutex to a plain thread,
                // whose unlock then comes from there.
                until, true, held);
            if (p == Park::Ready) return r;
        } catch (const LoopExit&) {
            return EDEADLK;  // only if the hub is ending: never left waiting
        }
    }
}

int unlock_any(pthread_mutex_t* m) noexcept {
    const Real& R = real();
    const int kind = kind_of(m);
    if (t_owned && owned_type(kind) && !(kind & kSpecialBits)) {
        const void* holder = greenlet_owner(m);
        if (holder) {
            if (holder != current_greenlet()) return EPERM;
            if (errorcheck(kind) || m->__data.__count <= 1) {
                InsideHook guard;
                t_owners.erase(m);
                t_owned = static_cast<int>(t_owners.size());
            }
        }
    }
    const int r = R.mutex_unlock(m);
    // glibc's unlock is an xchg on x86, a full barrier: a plain load of the
    // parked count is ordered after it. Elsewhere, a read-modify-write.
#if defined(__x86_64__) || defined(__i386__)
    const bool parked = anyone_parked();
#else
    const bool parked = anyone_parked_ordered();
#endif
    if (r == 0 && parked && !inside()) unpark(m, 1);
    return r;
}

}  // namespace grove::hooks::green

using namespace grove::hooks::green;

namespace {

int timed(pthread_mutex_t* m, clockid_t clock, const timespec* abstime, const void* ret) {
    const Real& R = real();
    if (!plain_kind(m) || !cooperate(ret))
        return clock == CLOCK_REALTIME ? R.mutex_timedlock(m, abstime) : R.mutex_clocklock(m, clock, abstime);
    // Normal types: the real trylock first. Owned types go through
    // try_acquire, since a real trylock would pass glibc's per-thread check.
    if (!owned_type(kind_of(m)) && R.mutex_trylock(m) == 0) return 0;
    std::optional<grove::Deadline> deadline;
    if (!valid_timespec(abstime) || !(deadline = deadline_for(clock, *abstime)))
        return clock == CLOCK_REALTIME ? R.mutex_timedlock(m, abstime) : R.mutex_clocklock(m, clock, abstime);
    Held held;
    return lock_green(m, deadline, held, false);
}

}  // namespace

extern "C" {

int pthread_mutex_lock(pthread_mutex_t* m) {
    const Real& R = real();
    const int kind = kind_of(m);
    if (!(kind & (kTypeMask | kSpecialBits))) {
        // Normal mutex (std::mutex): the uncontended path is the real trylock.
        if (R.mutex_trylock(m) == 0) return 0;
        if (!cooperate(__builtin_return_address(0))) return R.mutex_lock(m);
    } else if ((kind & kSpecialBits) || !cooperate(__builtin_return_address(0))) {
        return R.mutex_lock(m);
    }
    Held held;
    return lock_green(m, std::nullopt, held, false);
}

int pthread_mutex_trylock(pthread_mutex_t* m) {
    const Real& R = real();
    const int kind = kind_of(m);
    if (!owned_type(kind) || (kind & kSpecialBits) || !cooperate(__builtin_return_address(0)))
        return R.mutex_trylock(m);
    const int r = try_acquire(m, kind, current_greenlet());
    return r == EDEADLK ? EBUSY : r;  // glibc's trylock says EBUSY to its own holder too
}

int pthread_mutex_timedlock(pthread_mutex_t* m, const timespec* abstime) {
    return timed(m, CLOCK_REALTIME, abstime, __builtin_return_address(0));
}

int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t clock, const timespec* abstime) {
    return timed(m, clock, abstime, __builtin_return_address(0));
}

int pthread_mutex_unlock(pthread_mutex_t* m) { return unlock_any(m); }

}  // extern "C"
