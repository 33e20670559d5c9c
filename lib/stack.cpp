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
#include <unistd.h>
#include <sys/mman.h>

#if GROVE_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if defined(GROVE_VALGRIND)
#include <valgrind/valgrind.h>
#endif

namespace grove::detail {
namespace {

constexpr std::uint64_t kCanary = 0x67726f7665c0ffeeULL;  // "grove" + coffee
constexpr std::size_t kHotCap = 1024;                     // free stacks kept committed, per size
constexpr std::size_t kArenaStacks = 256;                 // unguarded stacks per arena mapping

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
    if (const char* env = std::getenv("GROVE_GUARD_BUDGET")) return std::strtoull(env, nullptr, 10);
    std::size_t max_maps = 65530;
    std::ifstream f("/proc/sys/vm/max_map_count");
    if (f) f >> max_maps;
    return max_maps / 4;
}

std::size_t parse_size(const char* text) {
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(text, &end, 10);
    if (errno || end == text) throw std::invalid_argument(std::string("GROVE_STACK_SIZE: not a size: '") + text + "'");
    switch (*end) {
        case 'k': case 'K': n <<= 10; ++end; break;
        case 'm': case 'M': n <<= 20; ++end; break;
        default: break;
    }
    if (*end != '\0') throw std::invalid_argument(std::string("GROVE_STACK_SIZE: not a size: '") + text + "'");
    if (n < 16 * 1024 || n > (1ULL << 30))
        throw std::invalid_argument(std::string("GROVE_STACK_SIZE: must be between 16K and 1G, got '") + text + "'");
    return static_cast<std::size_t>(n);
}

void write_canary(void* base) noexcept { std::memcpy(base, &kCanary, sizeof kCanary); }

void prepare_memory(void* base, std::size_t size) noexcept {
    madvise(base, size, MADV_NOHUGEPAGE);  // THP would inflate RSS of mostly-idle stacks
}

}  // namespace

std::size_t default_stack_size() {
    static const std::size_t size = [] {
        std::size_t n = 128 * 1024;
        if (const char* env = std::getenv("GROVE_STACK_SIZE"); env && *env) n = parse_size(env);
#if GROVE_ASAN
        n *= 4;  // ASan's redzones and fake frames need room
#endif
        return round_to_pages(n);
    }();
    return size;
}

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

StackPool::Slot StackPool::carve_unguarded(std::size_t size) {
    if (arena_cursor_ == nullptr || arena_cursor_ + size > arena_end_) {
        const std::size_t length = size * kArenaStacks;
        void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            throw std::system_error(errno, std::system_category(),
                                    "grove: cannot map a stack arena of " + std::to_string(length) +
                                        " bytes (out of memory or vm.max_map_count reached)");
        prepare_memory(p, length);
        arenas_.push_back({static_cast<char*>(p), length});
        arena_cursor_ = static_cast<char*>(p);
        arena_end_ = arena_cursor_ + length;
    }
    Slot slot{arena_cursor_, size, false};
    arena_cursor_ += size;
    return slot;
}

void StackPool::allocate(ContextState& c, std::size_t size) {
    size = size ? round_to_pages(size) : default_stack_size();
    Slot slot{};
    auto& list = free_[size];
    if (!list.empty()) {
        slot = list.back();
        list.pop_back();
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
            slot = {static_cast<char*>(p) + guard, size, true};
        } else {
            // The map-count limit refuses the split: never hand out a stack
            // that believes it is guarded. Fall back to a canary stack.
            munmap(p, size + guard);
            slot = carve_unguarded(size);
        }
    } else {
        slot = carve_unguarded(size);
    }
    write_canary(slot.base);
#if GROVE_ASAN
    ASAN_UNPOISON_MEMORY_REGION(slot.base, slot.size);  // a reused stack keeps its old poison
#endif
    c.stack_base = slot.base;
    c.stack_size = slot.size;
    c.stack_guarded = slot.guarded;
#if defined(GROVE_VALGRIND)
    c.valgrind_id = VALGRIND_STACK_REGISTER(slot.base, static_cast<char*>(slot.base) + slot.size);
#endif
    ++in_use_;
}

void StackPool::release(ContextState& c) noexcept {
    if (!c.stack_base) return;
#if defined(GROVE_VALGRIND)
    VALGRIND_STACK_DEREGISTER(c.valgrind_id);
#endif
    Slot slot{c.stack_base, c.stack_size, c.stack_guarded};
    try {
        auto& list = free_[slot.size];
        if (list.size() >= kHotCap) madvise(slot.base, slot.size, MADV_DONTNEED);
        list.push_back(slot);
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

StackPool::~StackPool() {
    const std::size_t guard = page_size();
    for (auto& [size, list] : free_)
        for (auto& slot : list)
            if (slot.guarded) {
                unmap(static_cast<char*>(slot.base) - guard, slot.size + guard);
                g_guarded.fetch_sub(1, std::memory_order_relaxed);
            }
    for (auto& arena : arenas_) unmap(arena.begin, arena.length);
}

// --- overflow detection ---------------------------------------------------

namespace {
OverflowDescriber g_describer = nullptr;
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
    if (g_describer && g_describer(info->si_addr, line, sizeof line)) {
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
    g_describer = describer;
    if (g_handler_installed.exchange(true)) return;
    struct sigaction sa {};
    sa.sa_sigaction = &overflow_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_previous_segv);
    sigaction(SIGBUS, &sa, &g_previous_bus);
}

}  // namespace grove::detail
