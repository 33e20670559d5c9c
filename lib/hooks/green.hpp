// grove-hooks internal — the "green lock" machinery shared by the thread
// primitive hooks (mutex, rwlock, cond, futex, sem, join, sched_yield).
//
// The real pthread object stays the truth: a greenlet only ever owns a mutex
// through a successful real trylock, so mutual exclusion with plain threads
// holds both ways. What grove adds is *where a greenlet waits*: instead of
// sleeping in the kernel (which would freeze its whole hub), it parks on an
// address in a process-wide registry (park()), and every hooked release of
// that address (unlock, signal, post, FUTEX_WAKE) calls unpark(), from any
// thread. A waker on the waiter's own thread wakes its Waiter directly; a
// waker on another thread posts the wake-up to the waiter's hub
// (Hub::Remote, libev's async watcher), which reaches it in a few µs.
//
// Why no hook recurses: the slow paths run under an InsideHook guard; any
// pthread call made from inside them (Hub::Remote's mutex, the allocator,
// libev) sees the guard and takes the real call.
#pragma once

#include <pthread.h>
#include <semaphore.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <optional>

#include <memory>

#include <grove/duration.hpp>
#include <grove/hub.hpp>
#include <grove/waiter.hpp>

namespace grove::hooks::green {

/// The real libc entry points of the primitives grove hooks (dlsym/dlvsym,
/// resolved once at load; pthread_cond_* with their default GLIBC_2.3.2
/// version: an unversioned dlsym may hand back the 2.2.5 compatibility ones).
struct Real {
    int (*mutex_lock)(pthread_mutex_t*);
    int (*mutex_trylock)(pthread_mutex_t*);
    int (*mutex_timedlock)(pthread_mutex_t*, const timespec*);
    int (*mutex_clocklock)(pthread_mutex_t*, clockid_t, const timespec*);
    int (*mutex_unlock)(pthread_mutex_t*);
    int (*rwlock_rdlock)(pthread_rwlock_t*);
    int (*rwlock_tryrdlock)(pthread_rwlock_t*);
    int (*rwlock_timedrdlock)(pthread_rwlock_t*, const timespec*);
    int (*rwlock_clockrdlock)(pthread_rwlock_t*, clockid_t, const timespec*);
    int (*rwlock_wrlock)(pthread_rwlock_t*);
    int (*rwlock_trywrlock)(pthread_rwlock_t*);
    int (*rwlock_timedwrlock)(pthread_rwlock_t*, const timespec*);
    int (*rwlock_clockwrlock)(pthread_rwlock_t*, clockid_t, const timespec*);
    int (*rwlock_unlock)(pthread_rwlock_t*);
    int (*cond_wait)(pthread_cond_t*, pthread_mutex_t*);
    int (*cond_timedwait)(pthread_cond_t*, pthread_mutex_t*, const timespec*);
    int (*cond_clockwait)(pthread_cond_t*, pthread_mutex_t*, clockid_t, const timespec*);
    int (*cond_signal)(pthread_cond_t*);
    int (*cond_broadcast)(pthread_cond_t*);
    long (*syscall)(long, ...);
    int (*join)(pthread_t, void**);
    int (*timedjoin)(pthread_t, void**, const timespec*);
    int (*sched_yield)();
    int (*sem_wait)(sem_t*);
    int (*sem_timedwait)(sem_t*, const timespec*);
    int (*sem_clockwait)(sem_t*, clockid_t, const timespec*);
    int (*sem_trywait)(sem_t*);
    int (*sem_post)(sem_t*);
};
const Real& resolve_real() noexcept;
extern Real g_real;
extern std::atomic<int> g_real_state;  // 0 unresolved, 1 resolving, 2 ready
/// Inline: the uncontended lock and unlock pay one load here, not a call.
inline const Real& real() noexcept {
    if (g_real_state.load(std::memory_order_acquire) == 2) [[likely]]
        return g_real;
    return resolve_real();
}

/// syscall() for any number without going through resolution: the real
/// syscall once resolved, else (at load, or reached from inside dlsym) the
/// instruction itself. What the syscall hook forwards non-futex calls to.
long forward_syscall(long n, long a, long b, long c, long d, long e, long f) noexcept;

/// True on this thread while a hook's slow path runs: nested pthread calls
/// (from grove itself) take the real path.
bool inside() noexcept;
class InsideHook {
public:
    InsideHook() noexcept;
    ~InsideHook();
    InsideHook(const InsideHook&) = delete;
    InsideHook& operator=(const InsideHook&) = delete;
};

/// Should a blocking primitive call of this caller cooperate? Patched, on a
/// greenlet of a hub (not the hub), not inside a hook, and not called from
/// grove's own libraries (their internal locks must never switch).
bool cooperate(const void* return_address) noexcept;

/// Whether `return_address` lies in one of grove's own libraries.
bool from_grove(const void* return_address) noexcept;

/// The current greenlet (an identity for lock ownership).
const void* current_greenlet() noexcept;

/// Greenlets are parked on some address (fast check for wakers).
extern std::atomic<long> g_parked;
inline bool anyone_parked() noexcept { return g_parked.load(std::memory_order_relaxed) != 0; }
/// The same, for a waker whose release was a plain store (a futex word, a
/// condvar's predicate): a read-modify-write of the count orders that store
/// before the read, against a parker's increment (a fence would do too, but
/// TSan does not model fences).
inline bool anyone_parked_ordered() noexcept { return g_parked.fetch_add(0, std::memory_order_seq_cst) != 0; }

/// This thread's kernel tid (cached).
int my_tid() noexcept;

enum class Park { Ready, Woken, TimedOut };

/// Parks the calling greenlet on `addr` until unpark(addr) reaches it or
/// `deadline` passes. `ready()` is called once after the greenlet is
/// registered (so no wake-up between the caller's check and the park is
/// lost): if it returns true, park() returns Ready at once. `remote`: a
/// waker may be another thread (keeps the hub alive while parked);
/// `bitset`: FUTEX_WAIT_BITSET's mask (else ~0u).
///
/// Interrupts (kill, grove::Timeout) never escape: one arriving while parked
/// ends the park as Woken (a spurious wake-up, which every caller tolerates)
/// and is kept in `held`, for the caller to restore when it leaves the hook
/// (or to rethrow under PropagateInterrupts). A wake-up that lands together
/// with an interrupt is passed on to the next waiter on `addr`, so none is
/// lost. LoopExit (a local park nothing can end) is rethrown.
class Held;
template <class Ready>
Park park(const void* addr, Ready&& ready, std::optional<Deadline> deadline, bool remote, Held& held,
          unsigned bitset = ~0u);

/// Wakes up to `n` greenlets parked on `addr` (oldest first; with `bitset`,
/// those whose mask intersects it). Any thread. Returns how many.
int unpark(const void* addr, int n, unsigned bitset = ~0u) noexcept;

/// An interrupt (kill or grove::Timeout) that reached a greenlet inside a
/// primitive wait, held back so the wait can go on (or end) without it
/// escaping through the caller's frames (libstdc++'s condition_variable::wait
/// and atomic::wait are noexcept). restore() puts it back as the greenlet's
/// pending interrupt: the next grove blocking call outside hooks throws it;
/// a kill also makes the next blocking hooked I/O call fail with ECANCELED.
class Held {
public:
    Held() = default;
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() { restore(); }

    /// Takes the exception being handled (call from a catch block). The first
    /// one wins, except that a kill replaces a held Timeout.
    void take() noexcept;
    /// Moves an interrupt already pending for this greenlet in here, so the
    /// wait about to start parks instead of throwing it at once (a predicate
    /// loop around a noexcept wait would otherwise spin).
    void hold_pending() noexcept;
    /// Forgets a held Timeout (the C way: the call reported ETIMEDOUT).
    void drop_timeout() noexcept {
        if (timeout()) e_ = nullptr;
    }
    bool any() const noexcept { return static_cast<bool>(e_); }
    bool timeout() const noexcept { return e_ && is_timeout_; }
    /// PropagateInterrupts is on for this greenlet and something is held.
    bool should_throw() const noexcept;
    [[noreturn]] void rethrow();
    void restore() noexcept;

private:
    std::exception_ptr e_;
    std::uint64_t serial_ = 0;
    bool is_timeout_ = false;
    bool loop_exit_ = false;
};

/// A Deadline for an absolute `abstime` on `clock` (REALTIME, MONOTONIC...);
/// nullopt when the clock is not supported (the caller takes the real call).
std::optional<Deadline> deadline_for(clockid_t clock, const timespec& abstime) noexcept;
bool valid_timespec(const timespec* ts) noexcept;

// --- park(), the template part ----------------------------------------------

/// One parked greenlet, on its own stack, linked into the registry bucket of
/// its address. Wakers on other threads copy `remote` and `id` under the
/// bucket lock and post; the posted callback finds the node again by id (it
/// may have left by then, on a timeout: then nothing happens).
struct Parked {
    const void* addr;
    std::uint64_t id;
    unsigned bitset;
    int tid;
    bool signalled = false;
    Waiter* waiter;
    std::shared_ptr<Hub::Remote> remote;
    Parked* prev = nullptr;
    Parked* next = nullptr;
};

class ParkCore {
public:
    ParkCore(const void* addr, bool remote, unsigned bitset);
    ~ParkCore();
    ParkCore(const ParkCore&) = delete;
    ParkCore& operator=(const ParkCore&) = delete;
    Park wait(std::optional<Deadline> deadline, Held& held);

private:
    bool leave() noexcept;  // unlinks; returns whether a wake-up was consumed
    Waiter waiter_;
    Parked node_;
    std::optional<Hub::KeepAlive> keep_;
    bool linked_ = false;
};

template <class Ready>
Park park(const void* addr, Ready&& ready, std::optional<Deadline> deadline, bool remote, Held& held, unsigned bitset) {
    ParkCore core(addr, remote, bitset);
    if (ready()) return Park::Ready;
    return core.wait(deadline, held);
}

}  // namespace grove::hooks::green
