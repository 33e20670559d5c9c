// sleepers — N concurrently sleeping greenlets: how long it takes to get all
// of them started, and how much memory each costs, against the floor measured
// in the same run.
//
//   sleepers N [--compact] [--no-overflow-check] [--no-cleanup]    N: 1000 … 10M (k/M ok)
//
// --compact spawns compact greenlets (grove::SpawnOptions::compact): each
// sleeper's used stack is copied to the heap while it sleeps. handed_over= in
// the RESULT line counts the fresh stacks that took a copied-out stack's top
// page instead of faulting one (Linux 6.8+; 0 where moves are refused).
//
// --no-cleanup ends the process without killing the sleepers (killall of 1M
// greenlets takes minutes: see bench/RESULTS.md).
//
// The floor: a plain anonymous mapping with one page per greenlet, each page
// touched once (one fresh page is the least a live greenlet with its own stack
// can cost). Reported as a ratio: grove's time and RSS over the floor's.
//
// Then, in a forked child (the parent's N greenlets still asleep in it), one
// more greenlet overflows its stack: past the guard budget it gets an
// unguarded stack, so this shows whether overflow is still detected there.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "compact.hpp"
#include "stack.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

long status_kb(const char* field) {
    std::ifstream f("/proc/self/status");
    std::string line;
    const std::size_t n = std::strlen(field);
    while (std::getline(f, line))
        if (line.compare(0, n, field) == 0 && line[n] == ':') return std::atol(line.c_str() + n + 1);
    return -1;
}

long map_count() {
    std::ifstream f("/proc/self/maps");
    std::string line;
    long n = 0;
    while (std::getline(f, line)) ++n;
    return n;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::size_t parse_count(const char* s) {
    char* end = nullptr;
    double v = std::strtod(s, &end);
    if (*end == 'k' || *end == 'K') v *= 1e3;
    if (*end == 'm' || *end == 'M') v *= 1e6;
    return static_cast<std::size_t>(v);
}

struct Floor {
    double seconds;
    long rss_kb;
};

// One fresh page per greenlet in one plain mapping (no THP, like grove's stacks).
Floor measure_floor(std::size_t n) {
    const long page = sysconf(_SC_PAGESIZE);
    const std::size_t length = n * static_cast<std::size_t>(page);
    const long rss0 = status_kb("VmRSS");
    const auto t0 = Clock::now();
    auto* p = static_cast<char*>(
        mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    if (p == MAP_FAILED) {
        std::perror("mmap floor");
        std::exit(1);
    }
    madvise(p, length, MADV_NOHUGEPAGE);
    for (std::size_t i = 0; i < n; ++i) p[i * static_cast<std::size_t>(page)] = 1;
    Floor f{seconds_since(t0), status_kb("VmRSS") - rss0};
    munmap(p, length);
    return f;
}

[[gnu::noinline]] int recurse(int depth) {
    volatile char frame[1024];
    frame[0] = static_cast<char>(depth);
    if (depth == 0) return frame[0];
    return recurse(depth - 1) + frame[0];
}

// In a child: one more greenlet runs ~160 KiB deep into a 128 KiB stack, then
// blocks (the switch-out is where an unguarded stack's canary is checked).
void overflow_check() {
    std::fflush(stdout);
    int pipefd[2];
    if (pipe(pipefd) != 0) return;
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        close(pipefd[0]);
        grove::reinit();
        std::printf("  child: next stack guarded? guarded=%zu budget=%zu\n", grove::detail::StackPool::guarded_count(),
                    grove::detail::StackPool::guard_budget());
        auto g = grove::spawn_with(grove::SpawnOptions{128 * 1024, "overflower"}, [] {
            volatile int sink = recurse(160);
            (void)sink;
            grove::sleep();
        });
        g->join();
        std::fputs("NOT DETECTED: the overflowing greenlet finished\n", stderr);
        std::_Exit(3);
    }
    close(pipefd[1]);
    std::string err;
    char buf[512];
    for (ssize_t r; (r = read(pipefd[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<std::size_t>(r));
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    const bool named = err.find("stack overflow") != std::string::npos;
    std::printf(
        "overflow check (child): %s; %s\n",
        WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : ("exit " + std::to_string(WEXITSTATUS(status))).c_str(),
        named ? "DETECTED and reported" : "NOT reported");
    if (!err.empty()) std::printf("  child stderr: %s", err.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s N [--compact] [--no-overflow-check] [--no-cleanup]\n", argv[0]);
        return 2;
    }
    const std::size_t n = parse_count(argv[1]);
    bool check_overflow = true;
    bool cleanup = true;
    bool compact = false;
    for (int i = 2; i < argc; ++i) {
        if (std::strcmp(argv[i], "--compact") == 0) compact = true;
        if (std::strcmp(argv[i], "--no-overflow-check") == 0) check_overflow = false;
        if (std::strcmp(argv[i], "--no-cleanup") == 0) cleanup = false;
    }

    grove::get_hub();
    grove::sleep();  // the hub fiber is up: its stack is not counted below

    // The floor's pages are touched all at once: past 1M (4 GB) it is measured
    // on 1M and scaled, so that 10M sleepers do not need 40 GB for it.
    const std::size_t floor_n = n < 1000000 ? n : 1000000;
    Floor floor = measure_floor(floor_n);
    floor.seconds *= static_cast<double>(n) / static_cast<double>(floor_n);
    floor.rss_kb =
        static_cast<long>(static_cast<double>(floor.rss_kb) * static_cast<double>(n) / static_cast<double>(floor_n));

    std::vector<grove::Ref<grove::GreenletBase>> sleepers;
    sleepers.reserve(n);  // allocated before the RSS baseline: not per-greenlet cost
    std::size_t started = 0;
    const long rss0 = status_kb("VmRSS");
    const long maps0 = map_count();
    const auto t0 = Clock::now();
    grove::SpawnOptions options;
    options.compact = compact;
    for (std::size_t i = 0; i < n; ++i)
        sleepers.push_back(grove::spawn_with(options, [&started] {
            ++started;
            grove::sleep(3600s);
        }));
    const double spawn_s = seconds_since(t0);
    grove::sleep();  // runs after every sleeper has started and parked
    const double start_s = seconds_since(t0);
    const long rss1 = status_kb("VmRSS");
    const long maps1 = map_count();
    if (started != n) std::fprintf(stderr, "only %zu of %zu started\n", started, n);

    const double per_kb = static_cast<double>(rss1 - rss0) / static_cast<double>(n);
    const double floor_kb = static_cast<double>(floor.rss_kb) / static_cast<double>(n);
    std::printf("sleepers N=%zu stack=%zu KiB%s\n", n, grove::detail::default_stack_size() / 1024,
                compact ? " compact" : "");
    std::printf("time to start all: %.3f s (spawn calls %.3f s)   floor: %.3f s   ratio: %.2fx\n", start_s, spawn_s,
                floor.seconds, start_s / floor.seconds);
    std::printf("RSS per greenlet: %.2f KB   floor: %.2f KB   ratio: %.2fx   total RSS: %.1f MB\n", per_kb, floor_kb,
                per_kb / floor_kb, static_cast<double>(rss1) / 1024.0);
    std::printf("mappings: %ld -> %ld   guarded stacks: %zu (budget %zu, vm.max_map_count-based)\n", maps0, maps1,
                grove::detail::StackPool::guarded_count(), grove::detail::StackPool::guard_budget());
    std::printf(
        "RESULT n=%zu start_s=%.4f floor_s=%.4f start_ratio=%.3f rss_kb=%.3f floor_kb=%.3f rss_ratio=%.3f "
        "rss_total_mb=%.1f guarded=%zu compact=%d handed_over=%llu\n",
        n, start_s, floor.seconds, start_s / floor.seconds, per_kb, floor_kb, per_kb / floor_kb,
        static_cast<double>(rss1) / 1024.0, grove::detail::StackPool::guarded_count(), compact ? 1 : 0,
        static_cast<unsigned long long>(grove::detail::compact_counts().pages_handed_over));
    std::fflush(stdout);

    if (check_overflow) overflow_check();

    if (!cleanup) {
        std::fflush(stdout);
        std::_Exit(0);
    }
    const auto k0 = Clock::now();
    grove::killall(sleepers);
    std::printf("killall: %.3f s\n", seconds_since(k0));
    return 0;
}
