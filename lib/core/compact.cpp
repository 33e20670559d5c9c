// grove internal — compact greenlets: copying a parked stack out and back
// (see compact.hpp for the rule that makes it sound).
#include "compact.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "runtime.hpp"

#if GROVE_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if defined(GROVE_VALGRIND)
#include <valgrind/memcheck.h>
#endif

namespace grove::detail {
namespace {

// The copy's header: how many bytes below the stack's top it holds.
struct CopyHeader {
    std::size_t used;
    std::size_t lent;  // 1 while its stack's top page waits in t_spares; keeps the bytes after it 16-byte aligned
};

thread_local CompactCounts t_counts;

std::size_t page() noexcept {
    static const auto size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

// The part of the stack whose pages go back to the kernel while copied out:
// all of it, except the first page of an unguarded stack, where the canary
// that the switch checks lives.
char* release_begin(const ContextState& c) noexcept {
    return static_cast<char*>(c.stack_base) + (c.stack_guarded ? 0 : page());
}
char* top(const ContextState& c) noexcept { return static_cast<char*>(c.stack_base) + c.stack_size; }

// A suspended stack holds AddressSanitizer's redzones between its frames:
// read it word by word, unchecked (an intercepted memcpy would report them).
#if GROVE_ASAN
__attribute__((no_sanitize("address")))
#endif
void copy_words(void* to, const void* from, std::size_t bytes) noexcept {
#if GROVE_ASAN
    auto* d = static_cast<volatile std::uint64_t*>(to);
    const auto* s = static_cast<const volatile std::uint64_t*>(from);
    for (std::size_t i = 0; i < bytes / 8; ++i) d[i] = s[i];
#else
    std::memcpy(to, from, bytes);
#endif
}

// valgrind does not know process_madvise: there, each stack gets a madvise.
#if !defined(GROVE_VALGRIND) && defined(SYS_pidfd_open) && defined(SYS_process_madvise)
#define GROVE_BATCHED_MADVISE 1
int self_pidfd() noexcept {
    // Per process: a fork's child must not advise its parent (DONTNEED is
    // refused for another process, but that should not be what keeps it safe).
    static thread_local pid_t owner = 0;
    static thread_local int fd = -1;
    if (const pid_t pid = getpid(); pid != owner) {
        if (fd >= 0) close(fd);
        fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
        owner = pid;
    }
    return fd;
}
#endif

// --- The page hand-over -----------------------------------------------------
// Starting a fresh compact greenlet faults its stack's top page in, and its
// first park gives the page back: at 100k sleepers that fault and that zap
// are most of what starting one costs (bench/RESULTS.md). Instead, a flush
// keeps the top page of each stack it copies out (up to a batch of them, in
// t_spares, still mapped at the old address), and the next fresh compact
// stack gets one moved to its top with userfaultfd's UFFDIO_MOVE (Linux 6.8+):
// one system call instead of a page allocation, its zeroing and a later zap.
// A move needs its target registered with the process's userfaultfd, so the
// arenas mapped once compact greenlets exist are registered, in write-protect
// mode only: nothing is ever write-protected, so no fault is handled any
// differently. Where any of it is missing (an older kernel, a seccomp filter,
// valgrind, a forked child, whose inherited descriptor would move its
// parent's pages) stacks give their pages back and fault as before.
#if !defined(GROVE_VALGRIND) && defined(SYS_userfaultfd) && defined(UFFDIO)
#define GROVE_PAGE_HANDOVER 1
// Linux 6.8's interface; Debian 12's headers predate it.
struct UffdMove {
    std::uint64_t dst;
    std::uint64_t src;
    std::uint64_t len;
    std::uint64_t mode;
    std::int64_t move;  // out: bytes moved
};
constexpr unsigned long kUffdioMove = _IOWR(UFFDIO, 0x05, UffdMove);
constexpr std::uint64_t kUffdFeatureMove = 1ULL << 16;
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

// The process's userfaultfd: -2 until asked for, -1 if there is none.
std::atomic<int> g_uffd{-2};

void drop_inherited_uffd() noexcept {
    const int fd = g_uffd.exchange(-1);
    if (fd >= 0) close(fd);
}

int process_uffd() noexcept {
    if (const int fd = g_uffd.load(std::memory_order_acquire); fd != -2) return fd;
    int made = static_cast<int>(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
    if (made >= 0) {
        uffdio_api api{};
        api.api = UFFD_API;
        api.features = kUffdFeatureMove;  // refused (EINVAL) where moves are unknown
        if (ioctl(made, UFFDIO_API, &api) != 0 || !(api.features & kUffdFeatureMove)) {
            close(made);
            made = -1;
        }
    }
    int expected = -2;
    if (!g_uffd.compare_exchange_strong(expected, made, std::memory_order_acq_rel)) {
        if (made >= 0) close(made);  // another thread made the process's one first
        return expected;
    }
    if (made >= 0) pthread_atfork(nullptr, nullptr, drop_inherited_uffd);
    return made;
}
#endif

struct Spare {
    char* page;        // the top page of a copied-out stack, still mapped there
    CopyHeader* copy;  // that greenlet's copy (lent is set while the page is here)
};
struct Spares {
    Spare spare[kCompactBatch];  // one batch's top pages
    std::size_t size = 0;
    bool off = false;  // a move failed for a reason that will not go away
};
thread_local Spares t_spares;

char* top_page(const ContextState& c) noexcept {
    const auto end = reinterpret_cast<std::uintptr_t>(top(c)) - 1;
    return reinterpret_cast<char*>(end & ~(static_cast<std::uintptr_t>(page()) - 1));
}

// Whether the flush should keep `c`'s top page for the next fresh stack.
bool lend_top_page(ContextState& c, CopyHeader& copy) noexcept {
#if defined(GROVE_PAGE_HANDOVER)
    Spares& s = t_spares;
    char* const lent = top_page(c);
    if (s.off || s.size == kCompactBatch || lent <= release_begin(c) || g_uffd.load() < 0) return false;
    s.spare[s.size++] = {lent, &copy};
    copy.lent = 1;
    return true;
#else
    (void)c, (void)copy;
    return false;
#endif
}

// The owner of a lent page runs or dies first: its page stays where it is.
void reclaim_top_page(CopyHeader& copy) noexcept {
    Spares& s = t_spares;
    copy.lent = 0;
    for (std::size_t i = 0; i < s.size; ++i)
        if (s.spare[i].copy == &copy) {
            s.spare[i] = s.spare[--s.size];
            return;
        }
}

// Parked compact greenlets not yet copied out. The copy and the page release
// are done for a batch at once: when it is full, or when the hub is about to
// block (compact_flush). A greenlet resumed before that was never copied: its
// stack is just as it left it, so it costs a few list operations, not a copy
// and a page fault. One process_madvise (Linux 6.13+ takes any advice for the
// calling process) then gives back a whole batch's pages.
struct ParkedBatch {
    ContextState* parked[kCompactBatch];
    std::size_t size = 0;
};
thread_local ParkedBatch t_batch;

// Copies `c` out; returns the range whose pages it gives back (empty if the
// copy could not be allocated: it then stays in place, losing nothing).
iovec copy_out(ContextState& c) noexcept {
    c.copy_out = false;
    auto* sp = static_cast<char*>(c.fctx);
    const std::size_t used = static_cast<std::size_t>(top(c) - sp);  // 16-byte multiple: sp is aligned
    auto* copy = static_cast<CopyHeader*>(std::malloc(sizeof(CopyHeader) + used));
    if (!copy) return {nullptr, 0};
    copy->used = used;
    copy->lent = 0;
    copy_words(copy + 1, sp, used);
    char* const begin = release_begin(c);
    const auto length = static_cast<std::size_t>(top(c) - begin);
#if GROVE_ASAN
    ASAN_POISON_MEMORY_REGION(begin, length);
#endif
#if defined(GROVE_VALGRIND)
    VALGRIND_MAKE_MEM_NOACCESS(begin, length);
#endif
    c.copy = copy;
    ++t_counts.copied_out;
    t_counts.bytes_out += used;
    if (lend_top_page(c, *copy)) return {begin, static_cast<std::size_t>(top_page(c) - begin)};
    return {begin, length};
}

// Gives `n` ranges of `bytes` in all back to the kernel, in one call where it can.
void give_back(iovec* ranges, std::size_t n, [[maybe_unused]] std::size_t bytes) noexcept {
    bool done = n == 0;
#if defined(GROVE_BATCHED_MADVISE)
    if (const int fd = done ? -1 : self_pidfd(); fd >= 0)
        done = syscall(SYS_process_madvise, fd, ranges, n, MADV_DONTNEED, 0u) == static_cast<long>(bytes);
#endif
    if (!done)  // an older kernel, or a partial batch: plain madvise is idempotent
        for (std::size_t i = 0; i < n; ++i) madvise(ranges[i].iov_base, ranges[i].iov_len, MADV_DONTNEED);
}

void flush_batch() noexcept {
    ParkedBatch& b = t_batch;
    if (b.size == 0) return;
    iovec ranges[kCompactBatch];
    std::size_t n = 0;
    [[maybe_unused]] std::size_t bytes = 0;  // what a batched call must advise in full
    for (std::size_t i = 0; i < b.size; ++i)
        if (const iovec r = copy_out(*b.parked[i]); r.iov_len) {
            ranges[n++] = r;
            bytes += r.iov_len;
        }
    b.size = 0;
    give_back(ranges, n, bytes);
}

// Takes `c` out of the batch: it runs (or dies) before being copied.
void unpark(ContextState& c) noexcept {
    ParkedBatch& b = t_batch;
    c.copy_out = false;
    for (std::size_t i = 0; i < b.size; ++i)
        if (b.parked[i] == &c) {
            b.parked[i] = b.parked[--b.size];
            return;
        }
}

// A copied-out stack, about to be written again: the checkers' marks from
// its copy-out are lifted. Under ASan its frames' redzones are not restored:
// checks of the frames it resumes in are lost, never wrong; new frames poison
// their own.
void open_to_access([[maybe_unused]] const ContextState& c) noexcept {
    [[maybe_unused]] char* const begin = release_begin(c);
#if GROVE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(begin, static_cast<std::size_t>(top(c) - begin));
#endif
#if defined(GROVE_VALGRIND)
    VALGRIND_MAKE_MEM_UNDEFINED(begin, static_cast<std::size_t>(top(c) - begin));
#endif
}

}  // namespace

void compact_flush() noexcept {
    flush_batch();
    // The hub is about to block: no fresh stack is coming soon, so the
    // spare pages go back too.
    Spares& s = t_spares;
    if (s.size == 0) return;
    iovec ranges[kCompactBatch];
    for (std::size_t i = 0; i < s.size; ++i) {
        s.spare[i].copy->lent = 0;
        ranges[i] = {s.spare[i].page, page()};
    }
    give_back(ranges, s.size, s.size * page());
    s.size = 0;
}

constinit thread_local bool t_compact_started = false;

void compact_pin_slow(const void* obj, int delta) noexcept {
    HubImpl* hub = HubImpl::current();
    if (!hub) return;
    compact_pin(Runtime::record(*hub->current_greenlet()).ctx, obj, delta);
}

}  // namespace grove::detail

bool grove::detail::running_compact_slow() noexcept {
    detail::HubImpl* hub = detail::HubImpl::current();
    return hub && hub->current_is_compact();
}

namespace grove::detail {

void compact_park(ContextState& c) noexcept {
    ParkedBatch& b = t_batch;
    b.parked[b.size] = &c;
    if (++b.size == kCompactBatch) flush_batch();
}

void compact_copy_in(ContextState& c) noexcept {
    if (c.copy_out) return unpark(c);  // never copied: its stack is as it left it
    auto* copy = static_cast<CopyHeader*>(c.copy);
    if (copy->lent) reclaim_top_page(*copy);
    open_to_access(c);
    std::memcpy(top(c) - copy->used, copy + 1, copy->used);
    std::free(copy);
    c.copy = nullptr;
    ++t_counts.copied_in;
}

void compact_discard(ContextState& c) noexcept {
    if (c.copy_out) unpark(c);  // the pool hands the stack to someone else next
    if (!c.copy) return;
    if (auto* copy = static_cast<CopyHeader*>(c.copy); copy->lent) reclaim_top_page(*copy);
    std::free(c.copy);
    c.copy = nullptr;
    open_to_access(c);
}

bool compact_page_handover_supported() noexcept {
#if defined(GROVE_PAGE_HANDOVER)
    return process_uffd() >= 0;
#else
    return false;
#endif
}

bool compact_register_arena([[maybe_unused]] void* begin, [[maybe_unused]] std::size_t length) noexcept {
#if defined(GROVE_PAGE_HANDOVER)
    const int fd = process_uffd();
    if (fd < 0) return false;
    uffdio_register reg{};
    reg.range.start = reinterpret_cast<std::uintptr_t>(begin);
    reg.range.len = length;
    reg.mode = UFFDIO_REGISTER_MODE_WP;  // no fault changes: only a valid target for moves
    return ioctl(fd, UFFDIO_REGISTER, &reg) == 0;
#else
    return false;
#endif
}

void compact_take_spare_page([[maybe_unused]] void* to) noexcept {
#if defined(GROVE_PAGE_HANDOVER)
    Spares& s = t_spares;
    if (s.size == 0) return;
    const Spare spare = s.spare[--s.size];
    spare.copy->lent = 0;
    const int fd = g_uffd.load(std::memory_order_relaxed);
    UffdMove move{reinterpret_cast<std::uintptr_t>(to), reinterpret_cast<std::uintptr_t>(spare.page), page(), 0, 0};
    if (fd >= 0 && ioctl(fd, kUffdioMove, &move) == 0) {
        ++t_counts.pages_handed_over;
        return;
    }
    // Not moved: it goes back to the kernel as the flush would have done.
    // EEXIST (the target was mapped) and EBUSY (the page is shared with a
    // forked child) are this page's problem; anything else is the system's.
    if (fd < 0 || (errno != EEXIST && errno != EBUSY && errno != EAGAIN)) s.off = true;
    madvise(spare.page, page(), MADV_DONTNEED);
#endif
}

CompactCounts compact_counts() noexcept { return t_counts; }

}  // namespace grove::detail
