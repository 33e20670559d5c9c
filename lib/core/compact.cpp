// grove internal — compact greenlets: copying a parked stack out and back
// (see compact.hpp for the rule that makes it sound).
#include "compact.hpp"

#include <cstdlib>
#include <cstring>

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
    std::size_t pad;  // the bytes after it stay 16-byte aligned
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

// Parked compact greenlets not yet copied out. The copy and the page release
// are done for a batch at once: when it is full, or when the hub is about to
// block (compact_flush). A greenlet resumed before that was never copied: its
// stack is just as it left it, so it costs a few list operations, not a copy
// and a page fault. One process_madvise (Linux 6.13+ takes any advice for the
// calling process) then gives back a whole batch's pages.
constexpr std::size_t kBatch = 64;
struct ParkedBatch {
    ContextState* parked[kBatch];
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
    return {begin, length};
}

void flush_batch() noexcept {
    ParkedBatch& b = t_batch;
    if (b.size == 0) return;
    iovec ranges[kBatch];
    std::size_t n = 0;
    [[maybe_unused]] std::size_t bytes = 0;  // what a batched call must advise in full
    for (std::size_t i = 0; i < b.size; ++i)
        if (const iovec r = copy_out(*b.parked[i]); r.iov_len) {
            ranges[n++] = r;
            bytes += r.iov_len;
        }
    b.size = 0;
    bool done = n == 0;
#if defined(GROVE_BATCHED_MADVISE)
    if (const int fd = done ? -1 : self_pidfd(); fd >= 0)
        done = syscall(SYS_process_madvise, fd, ranges, n, MADV_DONTNEED, 0u) == static_cast<long>(bytes);
#endif
    if (!done)  // an older kernel, or a partial batch: plain madvise is idempotent
        for (std::size_t i = 0; i < n; ++i) madvise(ranges[i].iov_base, ranges[i].iov_len, MADV_DONTNEED);
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

void compact_flush() noexcept { flush_batch(); }

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
    if (++b.size == kBatch) flush_batch();
}

void compact_copy_in(ContextState& c) noexcept {
    if (c.copy_out) return unpark(c);  // never copied: its stack is as it left it
    auto* copy = static_cast<CopyHeader*>(c.copy);
    open_to_access(c);
    std::memcpy(top(c) - copy->used, copy + 1, copy->used);
    std::free(copy);
    c.copy = nullptr;
    ++t_counts.copied_in;
}

void compact_discard(ContextState& c) noexcept {
    if (c.copy_out) unpark(c);  // the pool hands the stack to someone else next
    if (!c.copy) return;
    std::free(c.copy);
    c.copy = nullptr;
    open_to_access(c);
}

CompactCounts compact_counts() noexcept { return t_counts; }

}  // namespace grove::detail
