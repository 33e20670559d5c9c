// grove-hooks internal — the green lock machinery (see green.hpp): the real
// primitives, the "cooperate here?" test, the park registry, held interrupts.
#include "green.hpp"

#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <grove/exceptions.hpp>

#include "runtime.hpp"
#include "state.hpp"

namespace grove::hooks::green {

using detail::HubImpl;
using detail::Runtime;

std::atomic<long> g_parked{0};
Real g_real{};
std::atomic<int> g_real_state{0};

namespace {

// --- the real calls ----------------------------------------------------------

template <class F>
void lookup(F& slot, const char* name, const char* version = nullptr) noexcept {
    void* p = version ? dlvsym(RTLD_NEXT, name, version) : nullptr;
    if (!p) p = dlsym(RTLD_NEXT, name);
    slot = reinterpret_cast<F>(p);
}

void resolve() noexcept {
    lookup(g_real.mutex_lock, "pthread_mutex_lock");
    lookup(g_real.mutex_trylock, "pthread_mutex_trylock");
    lookup(g_real.mutex_timedlock, "pthread_mutex_timedlock");
    lookup(g_real.mutex_clocklock, "pthread_mutex_clocklock");
    lookup(g_real.mutex_unlock, "pthread_mutex_unlock");
    lookup(g_real.rwlock_rdlock, "pthread_rwlock_rdlock");
    lookup(g_real.rwlock_tryrdlock, "pthread_rwlock_tryrdlock");
    lookup(g_real.rwlock_timedrdlock, "pthread_rwlock_timedrdlock");
    lookup(g_real.rwlock_clockrdlock, "pthread_rwlock_clockrdlock");
    lookup(g_real.rwlock_wrlock, "pthread_rwlock_wrlock");
    lookup(g_real.rwlock_trywrlock, "pthread_rwlock_trywrlock");
    lookup(g_real.rwlock_timedwrlock, "pthread_rwlock_timedwrlock");
    lookup(g_real.rwlock_clockwrlock, "pthread_rwlock_clockwrlock");
    lookup(g_real.rwlock_unlock, "pthread_rwlock_unlock");
    // The condvar ABI changed in 2.3.2; programs bind to that default version.
    lookup(g_real.cond_wait, "pthread_cond_wait", "GLIBC_2.3.2");
    lookup(g_real.cond_timedwait, "pthread_cond_timedwait", "GLIBC_2.3.2");
    lookup(g_real.cond_clockwait, "pthread_cond_clockwait");
    lookup(g_real.cond_signal, "pthread_cond_signal", "GLIBC_2.3.2");
    lookup(g_real.cond_broadcast, "pthread_cond_broadcast", "GLIBC_2.3.2");
    lookup(g_real.syscall, "syscall");
    lookup(g_real.join, "pthread_join");
    lookup(g_real.timedjoin, "pthread_timedjoin_np");
    lookup(g_real.sched_yield, "sched_yield");
    lookup(g_real.sem_wait, "sem_wait");
    lookup(g_real.sem_timedwait, "sem_timedwait");
    lookup(g_real.sem_clockwait, "sem_clockwait");
    lookup(g_real.sem_trywait, "sem_trywait");
    lookup(g_real.sem_post, "sem_post");
}

[[gnu::constructor(101)]] void resolve_at_load() { real(); }

// --- per thread -----------------------------------------------------------------

[[gnu::tls_model("initial-exec")]] thread_local bool t_inside = false;
[[gnu::tls_model("initial-exec")]] thread_local int t_tid = 0;

// --- the registry ------------------------------------------------------------

struct Bucket {
    std::atomic<bool> busy{false};
    Parked* head = nullptr;
    Parked* tail = nullptr;
};
constexpr std::size_t kBuckets = 256;
Bucket g_buckets[kBuckets];
std::atomic<std::uint64_t> g_next_id{1};

Bucket& bucket_of(const void* addr) noexcept {
    auto a = reinterpret_cast<std::uintptr_t>(addr);
    a ^= a >> 12;
    return g_buckets[(a >> 3) % kBuckets];
}

/// A spinlock: held for a few list operations only, and never across a
/// switch, an allocation or a pthread call.
class BucketLock {
public:
    explicit BucketLock(Bucket& b) noexcept : b_(b) {
        while (b_.busy.exchange(true, std::memory_order_acquire))
            while (b_.busy.load(std::memory_order_relaxed)) __builtin_ia32_pause();
    }
    ~BucketLock() { b_.busy.store(false, std::memory_order_release); }
    BucketLock(const BucketLock&) = delete;
    BucketLock& operator=(const BucketLock&) = delete;

private:
    Bucket& b_;
};

void link(Bucket& b, Parked& n) noexcept {
    n.prev = b.tail;
    n.next = nullptr;
    if (b.tail)
        b.tail->next = &n;
    else
        b.head = &n;
    b.tail = &n;
}

void unlink(Bucket& b, Parked& n) noexcept {
    (n.prev ? n.prev->next : b.head) = n.next;
    (n.next ? n.next->prev : b.tail) = n.prev;
    n.prev = n.next = nullptr;
}

/// On the parked greenlet's thread: a posted wake-up for node `id`.
void wake_posted(const void* addr, std::uint64_t id) noexcept {
    Bucket& b = bucket_of(addr);
    BucketLock lock(b);
    for (Parked* n = b.head; n; n = n->next)
        if (n->id == id) {
            n->waiter->wake();
            return;
        }
}

}  // namespace

const Real& resolve_real() noexcept {
    if (g_real_state.load(std::memory_order_acquire) == 2) return g_real;
    int s = 0;
    if (g_real_state.compare_exchange_strong(s, 1, std::memory_order_acq_rel)) {
        resolve();
        g_real_state.store(2, std::memory_order_release);
    } else {
        while (g_real_state.load(std::memory_order_acquire) != 2) __builtin_ia32_pause();
    }
    return g_real;
}

long forward_syscall(long n, long a, long b, long c, long d, long e, long f) noexcept {
    if (g_real_state.load(std::memory_order_acquire) == 2 && g_real.syscall) [[likely]]
        return g_real.syscall(n, a, b, c, d, e, f);
#if defined(__x86_64__)
    register long r10 asm("r10") = d;
    register long r8 asm("r8") = e;
    register long r9 asm("r9") = f;
    long ret;
    asm volatile("syscall"
                 : "=a"(ret)
                 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                 : "rcx", "r11", "memory");
    if (ret < 0 && ret > -4096) {
        errno = static_cast<int>(-ret);
        return -1;
    }
    return ret;
#else
    return real().syscall(n, a, b, c, d, e, f);
#endif
}

bool inside() noexcept { return t_inside; }
InsideHook::InsideHook() noexcept { t_inside = true; }
InsideHook::~InsideHook() { t_inside = false; }

int my_tid() noexcept {
    if (!t_tid) t_tid = static_cast<int>(::syscall(SYS_gettid));
    return t_tid;
}

const void* current_greenlet() noexcept {
    HubImpl* hub = HubImpl::current();
    return hub ? hub->current_greenlet() : nullptr;
}

bool cooperate(const void* return_address) noexcept {
    return !t_inside && cooperative() && !from_grove(return_address);
}

int unpark(const void* addr, int n, unsigned bitset) noexcept {
    if (n <= 0) return 0;
    struct Post {
        std::shared_ptr<Hub::Remote> remote;
        std::uint64_t id;
    };
    constexpr int kBatch = 16;
    Post posts[kBatch];
    int nposts = 0, woken = 0;
    const int me = my_tid();
    Bucket& b = bucket_of(addr);
    {
        BucketLock lock(b);
        for (Parked* p = b.head; p && woken < n && nposts < kBatch; p = p->next) {
            if (p->addr != addr || p->signalled || !(p->bitset & bitset)) continue;
            p->signalled = true;
            ++woken;
            if (p->tid == me)
                p->waiter->wake();
            else
                posts[nposts++] = Post{p->remote, p->id};
        }
    }
    if (nposts) {
        // Hub::Remote::post takes a std::mutex and allocates: not as a hook.
        const bool was_inside = t_inside;
        t_inside = true;
        for (int i = 0; i < nposts; ++i) {
            try {
                if (posts[i].remote) posts[i].remote->post([addr, id = posts[i].id] { wake_posted(addr, id); });
            } catch (...) {  // out of memory: the waiter's backoff or timeout ends its wait
            }
        }
        t_inside = was_inside;
        if (nposts == kBatch && woken < n) woken += unpark(addr, n - woken, bitset);
    }
    return woken;
}

// --- ParkCore ----------------------------------------------------------------

ParkCore::ParkCore(const void* addr, bool remote, unsigned bitset)
    : waiter_("pthread primitive", addr), node_{addr,   g_next_id.fetch_add(1, std::memory_order_relaxed),
                                                bitset, my_tid(),
                                                false,  &waiter_,
                                                nullptr} {
    {
        InsideHook guard;
        if (remote) {
            node_.remote = get_hub().remote();
            keep_.emplace();
        }
    }
    Bucket& b = bucket_of(addr);
    {
        BucketLock lock(b);
        link(b, node_);
        linked_ = true;
    }
    // After the link and before the caller's ready() check: a waker that
    // changed the state before this increment is seen by ready(); one after
    // it sees the count and finds the node.
    g_parked.fetch_add(1, std::memory_order_seq_cst);
}

ParkCore::~ParkCore() { leave(); }

bool ParkCore::leave() noexcept {
    if (!linked_) return false;
    Bucket& b = bucket_of(node_.addr);
    bool signalled;
    {
        BucketLock lock(b);
        unlink(b, node_);
        signalled = node_.signalled;
    }
    linked_ = false;
    g_parked.fetch_sub(1, std::memory_order_relaxed);
    return signalled;
}

Park ParkCore::wait(std::optional<Deadline> deadline, Held& held) {
    try {
        waiter_.wait_until(deadline);
    } catch (const LoopExit&) {
        if (leave()) unpark(node_.addr, 1, node_.bitset);
        throw;
    } catch (...) {
        held.take();
        // Woken as well as interrupted: the wake-up goes to the next waiter.
        if (leave()) unpark(node_.addr, 1, node_.bitset);
        return Park::Woken;
    }
    return leave() ? Park::Woken : Park::TimedOut;
}

// --- Held ----------------------------------------------------------------------

void Held::take() noexcept {
    std::exception_ptr cur = std::current_exception();
    bool is_timeout = false;
    std::uint64_t serial = 0;
    try {
        std::rethrow_exception(cur);
    } catch (const TimeoutError& e) {
        is_timeout = true;
        serial = e.source_serial();
    } catch (...) {
    }
    if (e_ && !(is_timeout_ && !is_timeout)) return;  // keep the first, a kill beats a Timeout
    // interrupted() rethrows under PropagateInterrupts; without it, it re-pends
    // a kill (for the next hooked I/O call): take that back, it is held here.
    bool propagate = false;
    try {
        (void)interrupted();
    } catch (...) {
        propagate = true;
    }
    if (HubImpl* hub = HubImpl::current()) {
        auto& s = Runtime::record(*hub->current_greenlet());
        if (s.interrupts.error() == cur) (void)s.interrupts.take();
    }
    e_ = cur;
    serial_ = serial;
    is_timeout_ = is_timeout;
    loop_exit_ = propagate;  // reused: "rethrow when asked"
}

void Held::hold_pending() noexcept {
    if (e_) return;
    HubImpl* hub = HubImpl::current();
    if (!hub) return;
    auto& s = Runtime::record(*hub->current_greenlet());
    if (!s.interrupts.any()) return;
    detail::Interrupt held = s.interrupts.take();
    e_ = std::move(held.error);
    serial_ = held.source;
    is_timeout_ = serial_ != detail::kKillSource;
    bool propagate = false;
    try {
        std::rethrow_exception(e_);
    } catch (...) {
        try {
            (void)interrupted();
        } catch (...) {
            propagate = true;
        }
    }
    if (s.interrupts.error() == e_) (void)s.interrupts.take();  // interrupted() re-pended the kill
    loop_exit_ = propagate;
}

bool Held::should_throw() const noexcept { return e_ && loop_exit_; }

void Held::rethrow() {
    std::exception_ptr e = std::move(e_);
    e_ = nullptr;
    std::rethrow_exception(e);
}

void Held::restore() noexcept {
    if (!e_) return;
    std::exception_ptr e = std::move(e_);
    e_ = nullptr;
    HubImpl* hub = HubImpl::current();
    if (!hub) return;
    GreenletBase* g = hub->current_greenlet();
    auto& s = Runtime::record(*g);
    if (!s.interrupts.deliver({std::move(e), serial_})) return;  // another one is already on its way
    // Delivered at the greenlet's next grove wait, as the I/O hooks do.
    try {
        InsideHook guard;
        wake_at_next_wait(*hub, *g);
    } catch (...) {
    }
}

// --- time ----------------------------------------------------------------------

bool valid_timespec(const timespec* ts) noexcept { return ts && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L; }

std::optional<Deadline> deadline_for(clockid_t clock, const timespec& abstime) noexcept {
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME && clock != CLOCK_TAI)
        return std::nullopt;
    timespec now{};
    clock_gettime(clock, &now);
    const auto left =
        std::chrono::seconds(abstime.tv_sec - now.tv_sec) + std::chrono::nanoseconds(abstime.tv_nsec - now.tv_nsec);
    return grove::now() + std::chrono::duration_cast<Clock::duration>(left);
}

}  // namespace grove::hooks::green
