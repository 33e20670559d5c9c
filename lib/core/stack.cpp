// grove internal — the stack pool (layout drawn in stack.hpp).
#include "stack.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <system_error>
#include <ucontext.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <grove/config.hpp>

#include "compact.hpp"

#if GROVE_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if defined(GROVE_VALGRIND)
#include <valgrind/valgrind.h>
#endif
#if GROVE_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace grove::detail {
namespace {

constexpr std::uint64_t kCanary = 0x67726f7665c0ffeeULL;  // "grove" + coffee
constexpr std::size_t kHotCap = 1024;                     // free stacks kept committed, per size
constexpr std::size_t kArenaStacks = 256;                 // stacks per arena mapping
// Once compact greenlets run here, arenas of default-size stacks are mapped
// 16 times larger (528 MiB of addresses at 128 KiB, no memory until used):
// registered for the page hand-over, each arena stays its own mapping, and
// 10M compact greenlets in 256-stack arenas would pass vm.max_map_count.
constexpr std::size_t kCompactArenaStacks = 16 * kArenaStacks;

std::atomic<std::size_t> g_guarded{0};

std::size_t page_size() {
    static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

std::size_t round_to_pages(std::size_t n) {
    const std::size_t p = page_size();
    return (n + p - 1) / p * p;
}

// Half of the process's mapping budget may go to guarded stacks (two mappings
// each); the rest stays for everything else the process maps.
std::size_t compute_guard_budget() {
    if (const std::size_t configured = config::current().guard_budget) return configured;
    std::size_t max_maps = 65530;
    std::ifstream f("/proc/sys/vm/max_map_count");
    if (f) f >> max_maps;
    return max_maps / 4;
}

// A stack's whole size: `usable` bytes and the record room above them.
std::size_t slot_size(std::size_t usable) { return round_to_pages(usable + kRecordRoom); }

void write_canary(void* base) noexcept { std::memcpy(base, &kCanary, sizeof kCanary); }

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13+: a guard page inside a mapping, no extra VMA
#endif

// Whether this kernel installs guard pages inside a mapping. With it every
// stack is guarded at no mapping cost; without it guards cost two mappings
// each and stop at the budget.
bool kernel_guard_install() {
    static const bool supported = [] {
        if (!config::current().guard_install) return false;
        const std::size_t page = page_size();
        void* p = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) return false;
        const bool ok = madvise(p, page, MADV_GUARD_INSTALL) == 0;
        munmap(p, 2 * page);
        return ok;
    }();
    return supported;
}

void prepare_memory(void* base, std::size_t size) noexcept {
    madvise(base, size, MADV_NOHUGEPAGE);  // THP would inflate RSS of mostly-idle stacks
}

}  // namespace

std::size_t default_stack_size() {
    static const std::size_t size = [] {
        std::size_t n = 128 * 1024;
        if (const std::size_t configured = config::current().stack_size) n = configured;
#if GROVE_ASAN
        n *= 4;  // ASan's redzones and fake frames need room
#endif
        return round_to_pages(n);
    }();
    return size;
}

void stack_write_canary(void* stack_base) noexcept { write_canary(stack_base); }

bool stack_canary_intact(const void* stack_base) noexcept {
    std::uint64_t word;
    std::memcpy(&word, stack_base, sizeof word);
    return word == kCanary;
}

std::size_t StackPool::guarded_count() noexcept { return g_guarded.load(std::memory_order_relaxed); }

std::size_t StackPool::guard_budget() noexcept {
    static const std::size_t budget = compute_guard_budget();
    return budget;
}

namespace {

// Installs the guard page at the start of each of the `count` strides of a
// fresh arena with a few process_madvise calls on this process (Linux 6.13+
// accepts any advice there) instead of one madvise per stack, so starting a
// fresh greenlet makes no system call (bench/RESULTS.md, section E). False if
// the kernel or a seccomp filter refuses; the caller then installs each guard
// as it carves.
bool install_arena_guards(char* begin, std::size_t stride, std::size_t count) noexcept {
#if defined(GROVE_VALGRIND) || !defined(SYS_pidfd_open) || !defined(SYS_process_madvise)
    (void)begin, (void)stride, (void)count;
    return false;  // valgrind does not know these calls; plain madvise works there
#else
    const long pidfd = syscall(SYS_pidfd_open, getpid(), 0);
    if (pidfd < 0) return false;
    bool ok = true;
    constexpr std::size_t kBatch = 64;  // 1 KiB of iovecs: this may run on a small greenlet stack
    iovec batch[kBatch];
    for (std::size_t done = 0; ok && done < count;) {
        const std::size_t n = count - done < kBatch ? count - done : kBatch;
        for (std::size_t i = 0; i < n; ++i) batch[i] = {begin + (done + i) * stride, page_size()};
        const long advised = syscall(SYS_process_madvise, pidfd, batch, n, MADV_GUARD_INSTALL, 0u);
        ok = advised == static_cast<long>(n * page_size());
        done += n;
    }
    close(static_cast<int>(pidfd));
    return ok;
#endif
}

}  // namespace

StackPool::Slot StackPool::carve(std::size_t size, bool guard, bool& handover) {
    const std::size_t stride = guard ? size + page_size() : size;
    // Guarded default-size stacks come from their own arenas, whose guards go
    // in 256 at a time just ahead of the cursor: every carve there has the
    // same stride, so each pre-installed guard sits right below a stack, never
    // inside one. Other sizes share arenas and get their guard one by one.
    const bool batched = guard && size == default_slot_;
    ArenaCursor& arena = batched ? default_arena_ : other_arena_;
    if (arena.next == nullptr || arena.next + stride > arena.end) {
        const std::size_t length = stride * (batched && t_compact_started ? kCompactArenaStacks : kArenaStacks);
        void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            throw std::system_error(errno, std::system_category(),
                                    "grove: cannot map a stack arena of " + std::to_string(length) +
                                        " bytes (out of memory or vm.max_map_count reached)");
        prepare_memory(p, length);
        arenas_.push_back({static_cast<char*>(p), length});
        arena.next = static_cast<char*>(p);
        arena.end = arena.next + length;
        arena.batched_guards = batched;
        arena.guarded_to = arena.next;
        // Once compact greenlets exist, fresh stacks may take a copied-out
        // stack's top page rather than fault one in (compact.cpp).
        arena.handover = t_compact_started && compact_register_arena(p, length);
    }
    char* begin = arena.next;
    arena.next += stride;
    handover = arena.handover;
    if (guard) {
        // Batched arenas get their guards 256 strides at a time, ahead of the cursor.
        if (arena.batched_guards && begin >= arena.guarded_to) {
            const auto left = static_cast<std::size_t>(arena.end - begin) / stride;
            const std::size_t count = left < kArenaStacks ? left : kArenaStacks;
            arena.batched_guards = install_arena_guards(begin, stride, count);
            if (arena.batched_guards) arena.guarded_to = begin + count * stride;
        }
        if (!arena.batched_guards && madvise(begin, page_size(), MADV_GUARD_INSTALL) != 0)
            throw std::system_error(errno, std::system_category(), "grove: cannot install a stack guard page");
        return Slot{begin + page_size(), size, true, nullptr, true};
    }
    return Slot{begin, size, false, nullptr, true};
}

void StackPool::allocate(ContextState& c, std::size_t size) {
    size = size ? slot_size(size) : default_slot_;
    Slot slot{};
    bool fresh_handover = false;  // a never-used stack from an arena that can take a spare page
    FreeList& list = free_list(size);
    if (!list.slots.empty()) {
        slot = list.slots.back();
        list.slots.pop_back();
        if (list.cold > list.slots.size()) list.cold = list.slots.size();
    } else if (kernel_guard_install()) {
        slot = carve(size, true, fresh_handover);
    } else if (g_guarded.load(std::memory_order_relaxed) < guard_budget()) {
        const std::size_t guard = page_size();
        void* p = mmap(nullptr, size + guard, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (p == MAP_FAILED)
            throw std::system_error(errno, std::system_category(),
                                    "grove: cannot map a greenlet stack of " + std::to_string(size) + " bytes");
        if (mprotect(p, guard, PROT_NONE) == 0) {
            g_guarded.fetch_add(1, std::memory_order_relaxed);
            prepare_memory(static_cast<char*>(p) + guard, size);
            slot = {static_cast<char*>(p) + guard, size, true, nullptr, false};
        } else {
            // The map-count limit refuses the split: never hand out a stack
            // that believes it is guarded. Fall back to a canary stack.
            munmap(p, size + guard);
            slot = carve(size, false, fresh_handover);
        }
    } else {
        slot = carve(size, false, fresh_handover);
    }
    if (fresh_handover && c.compact) compact_take_spare_page(static_cast<char*>(slot.base) + slot.size - page_size());
    if (!slot.guarded) write_canary(slot.base);  // a guarded stack's low page stays untouched
#if GROVE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(slot.base, slot.size);  // a reused stack keeps its old poison
#endif
#if GROVE_TSAN
    if (!slot.tsan_fiber) slot.tsan_fiber = __tsan_create_fiber(0);
#endif
    c.stack_base = slot.base;
    c.stack_size = slot.size - kRecordRoom;
    c.stack_guarded = slot.guarded;
    c.stack_in_arena = slot.in_arena;
#if GROVE_TSAN
    c.tsan_fiber = slot.tsan_fiber;
#endif
#if defined(GROVE_VALGRIND)
    c.valgrind_id = VALGRIND_STACK_REGISTER(slot.base, static_cast<char*>(slot.base) + slot.size);
#endif
    ++in_use_;
}

void StackPool::release(ContextState& c) noexcept {
    if (!c.stack_base) return;
    if (c.copy || c.copy_out) [[unlikely]]
        compact_discard(c);  // a compact greenlet that never ran again
#if defined(GROVE_VALGRIND)
    VALGRIND_STACK_DEREGISTER(c.valgrind_id);
#endif
#if GROVE_TSAN
    void* const tsan_fiber = c.tsan_fiber;
#else
    void* const tsan_fiber = nullptr;
#endif
    Slot slot{c.stack_base, c.stack_size + kRecordRoom, c.stack_guarded, tsan_fiber, c.stack_in_arena};
    try {
        // LIFO: the newest is the hottest and is reused first. Slots that
        // slide out of the hot window give their memory back, each once; the
        // hot top never does.
        FreeList& list = free_list(slot.size);
        list.slots.push_back(slot);
        while (list.slots.size() - list.cold > kHotCap) {
            const Slot& cold = list.slots[list.cold++];
            madvise(cold.base, cold.size, MADV_DONTNEED);
        }
    } catch (...) {
        // Out of memory for the free list: lose the slot rather than crash.
    }
    c.stack_base = nullptr;
    c.stack_size = 0;
    c.fctx = nullptr;
    --in_use_;
}

namespace {
// ASan keeps the shadow of an unmapped range: without this, whoever maps the
// same addresses next (malloc, libbacktrace) trips over a dead fiber's redzones.
void unmap(void* p, std::size_t length) noexcept {
#if GROVE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, length);
#endif
    munmap(p, length);
}
}  // namespace

StackPool::StackPool() : default_slot_(slot_size(default_stack_size())) {}

StackPool::~StackPool() {
    const std::size_t guard = page_size();
    for (auto& [size, list] : free_)
        for (auto& slot : list.slots) {
#if GROVE_TSAN
            if (slot.tsan_fiber) __tsan_destroy_fiber(slot.tsan_fiber);
#endif
            if (slot.guarded && !slot.in_arena) {
                unmap(static_cast<char*>(slot.base) - guard, slot.size + guard);
                g_guarded.fetch_sub(1, std::memory_order_relaxed);
            }
        }
    for (auto& arena : arenas_) unmap(arena.begin, arena.length);
}

// --- overflow detection ---------------------------------------------------

namespace {
std::atomic<OverflowDescriber> g_describer{nullptr};  // set by every hub's thread, read in the handler
struct sigaction g_previous_segv {};
struct sigaction g_previous_bus {};
std::atomic<bool> g_handler_installed{false};
// The thread's alternate signal stack; disabled and freed at thread exit.
struct AltStack {
    void* memory = nullptr;
    ~AltStack() {
        if (!memory) return;
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, nullptr);
        std::free(memory);
    }
};
thread_local AltStack t_altstack;

void overflow_handler(int sig, siginfo_t* info, void* uctx) {
    char line[512];
    const void* sp = nullptr;
#if defined(__x86_64__) && defined(__linux__)
    sp = reinterpret_cast<const void*>(static_cast<ucontext_t*>(uctx)->uc_mcontext.gregs[REG_RSP]);
#endif
    const OverflowDescriber describer = g_describer.load(std::memory_order_relaxed);
    if (describer && describer(info->si_addr, sp, line, sizeof line)) {
        ssize_t ignored = write(STDERR_FILENO, line, std::strlen(line));
        (void)ignored;
        std::abort();
    }
    // Not ours: hand over to whoever was installed before.
    const struct sigaction& prev = sig == SIGBUS ? g_previous_bus : g_previous_segv;
    if (prev.sa_flags & SA_SIGINFO) {
        prev.sa_sigaction(sig, info, uctx);
        return;
    }
    if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
        prev.sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}
}  // namespace

void install_overflow_handler(OverflowDescriber describer) {
    if (!t_altstack.memory) {
        // One alternate stack per thread that runs greenlets: the handler
        // cannot run on the stack that just overflowed.
        constexpr std::size_t size = 64 * 1024;
        stack_t ss{};
        ss.ss_sp = std::malloc(size);
        ss.ss_size = size;
        if (ss.ss_sp && sigaltstack(&ss, nullptr) == 0)
            t_altstack.memory = ss.ss_sp;
        else
            std::free(ss.ss_sp);
    }
    g_describer.store(describer, std::memory_order_relaxed);
    if (g_handler_installed.exchange(true)) return;
    struct sigaction sa {};
    sa.sa_sigaction = &overflow_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous_segv);
    sigaction(SIGBUS, &sa, &g_previous_bus);
}

}  // namespace grove::detail
