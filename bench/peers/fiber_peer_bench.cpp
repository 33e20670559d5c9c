// Peer: the grove workloads on Boost.Fiber (round_robin scheduler, main
// thread's own fiber taking part, as grove's main greenlet does). Names match
// core_bench's with "Fiber" for "Grove", so compare.sh can pair them.
#include <cstdint>
#include <utility>
#include <vector>

#include <boost/fiber/all.hpp>

#include "bench_util.hpp"

namespace {

namespace bf = boost::fibers;
constexpr std::size_t kStackSize = 128 * 1024;

// N fibers in all (main + N-1) call yield() in turn; per yield.
void BM_FiberYieldRing(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    bool stop = false;
    bf::pooled_fixedsize_stack stacks(kStackSize);
    std::vector<bf::fiber> ring;
    for (std::size_t i = 1; i < n; ++i)
        ring.emplace_back(std::allocator_arg, stacks, [&stop] {
            while (!stop) boost::this_fiber::yield();
        });
    boost::this_fiber::yield();
    for (auto _ : state) boost::this_fiber::yield();
    stop = true;
    for (auto& f : ring) f.join();
    grove_bench::report_ops(state, static_cast<double>(n));
}
BENCHMARK(BM_FiberYieldRing)->Arg(2)->Arg(100)->Arg(10000);

void BM_FiberSpawnJoin(benchmark::State& state) {
    bf::pooled_fixedsize_stack stacks(kStackSize);
    int runs = 0;
    for (auto _ : state) {
        bf::fiber f(std::allocator_arg, stacks, [&runs] { ++runs; });
        f.join();
    }
    benchmark::DoNotOptimize(runs);
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_FiberSpawnJoin);

void BM_FiberSpawnBatch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    bf::pooled_fixedsize_stack stacks(kStackSize);
    std::vector<bf::fiber> batch;
    batch.reserve(n);
    int runs = 0;
    for (auto _ : state) {
        for (std::size_t i = 0; i < n; ++i) batch.emplace_back(std::allocator_arg, stacks, [&runs] { ++runs; });
        for (auto& f : batch) f.join();
        batch.clear();
    }
    benchmark::DoNotOptimize(runs);
    grove_bench::report_ops(state, static_cast<double>(n));
}
BENCHMARK(BM_FiberSpawnBatch)->Arg(20000);

// Queue put/get round trip: main → partner on one channel, back on another.
void BM_FiberQueuePingPong(benchmark::State& state) {
    bf::buffered_channel<int> there(2), back(2);
    bf::fiber partner([&] {
        int v;
        while (there.pop(v) == bf::channel_op_status::success) back.push(v);
    });
    int v = 0;
    for (auto _ : state) {
        there.push(v);
        back.pop(v);
    }
    there.close();
    partner.join();
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_FiberQueuePingPong);

// Event set/wait round trip: there is no Event in Boost.Fiber; the idiom is a
// flag under a fiber mutex + condition_variable (as the table says).
struct FiberEvent {
    bf::mutex m;
    bf::condition_variable cv;
    bool flag = false;
    void set() {
        {
            std::lock_guard<bf::mutex> lk(m);
            flag = true;
        }
        cv.notify_one();
    }
    void wait_clear() {
        std::unique_lock<bf::mutex> lk(m);
        cv.wait(lk, [this] { return flag; });
        flag = false;
    }
};

void BM_FiberEventPingPong(benchmark::State& state) {
    FiberEvent ping, pong;
    bool stop = false;
    bf::fiber partner([&] {
        for (;;) {
            ping.wait_clear();
            if (stop) break;
            pong.set();
        }
    });
    for (auto _ : state) {
        ping.set();
        pong.wait_clear();
    }
    stop = true;
    ping.set();
    partner.join();
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_FiberEventPingPong);

// --- issue #18's curves: the shapes of bench/curves_bench.cpp at N = 10 … 1M --------
//
// Stacks: the same 128 KiB, pooled, but in blocks of at most 1024 stacks: the
// pool's default doubling would ask malloc for one 64 GiB block on the way to
// 1M fibers, which the kernel's overcommit check refuses. Boost.Fiber has no
// public timer heap (sleep_for is the scheduler's), so the timer shapes have
// no Boost.Fiber row.

bf::pooled_fixedsize_stack curve_stacks() { return bf::pooled_fixedsize_stack(kStackSize, 32, 1024); }

// As curves_bench's: 0.1 s per repetition at small N, fixed iterations at
// N ≥ 100k, 3 repetitions at 100k, 1 at 1M.
constexpr double kSmallMinTime = 0.1;
#define FIBER_CURVE(fn, big_iters)                                                                    \
    BENCHMARK(fn)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000)->MinTime(kSmallMinTime);                  \
    BENCHMARK(fn)->Arg(100000)->Iterations(big_iters)->Repetitions(3)->Unit(benchmark::kMillisecond); \
    BENCHMARK(fn)->Arg(1000000)->Iterations(big_iters)->Repetitions(1)->Unit(benchmark::kMillisecond)

void BM_FiberCurveYieldRing(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    bool stop = false;
    auto stacks = curve_stacks();
    std::vector<bf::fiber> ring;
    ring.reserve(n - 1);
    for (std::size_t i = 1; i < n; ++i)
        ring.emplace_back(std::allocator_arg, stacks, [&stop] {
            while (!stop) boost::this_fiber::yield();
        });
    boost::this_fiber::yield();
    for (auto _ : state) boost::this_fiber::yield();
    stop = true;
    for (auto& f : ring) f.join();
    grove_bench::report_ops(state, static_cast<double>(n));
}
FIBER_CURVE(BM_FiberCurveYieldRing, 5);

// Wake-all: condition_variable::notify_all over a generation count (the
// idiom; Boost.Fiber has no Event). The last waiter to resume wakes main.
void BM_FiberCurveEventWakeAll(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    auto stacks = curve_stacks();
    bf::mutex m;
    bf::condition_variable cv;
    std::uint64_t generation = 0;
    bool stop = false;
    std::size_t resumed = 0;
    FiberEvent done;
    std::vector<bf::fiber> waiters;
    waiters.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        waiters.emplace_back(std::allocator_arg, stacks, [&] {
            std::unique_lock<bf::mutex> lk(m);
            for (std::uint64_t seen = generation;;) {
                cv.wait(lk, [&] { return generation != seen; });
                seen = generation;
                if (stop) return;
                if (++resumed == n) done.set();
            }
        });
    boost::this_fiber::yield();  // all are waiting
    for (auto _ : state) {
        resumed = 0;
        {
            std::lock_guard<bf::mutex> lk(m);
            ++generation;
        }
        cv.notify_all();
        done.wait_clear();
    }
    {
        std::lock_guard<bf::mutex> lk(m);
        stop = true;
        ++generation;
    }
    cv.notify_all();
    for (auto& f : waiters) f.join();
    grove_bench::report_ops(state, static_cast<double>(n));
}
FIBER_CURVE(BM_FiberCurveEventWakeAll, 5);

// Fan-in: N producers push into one channel holding one item (a
// buffered_channel of capacity 2 holds 1), main pops; per item.
void BM_FiberCurveQueueFanIn(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    auto stacks = curve_stacks();
    bf::buffered_channel<int> q(2);
    bool stop = false;
    std::vector<bf::fiber> producers;
    producers.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        producers.emplace_back(std::allocator_arg, stacks, [&] {
            for (;;) {
                const bool last = stop;
                q.push(last ? -1 : 1);
                if (last) return;
            }
        });
    boost::this_fiber::yield();  // untimed: each producer runs once, all but one park in push()
    int v = 0;
    for (auto _ : state) {
        q.pop(v);
        benchmark::DoNotOptimize(v);
    }
    stop = true;
    for (std::size_t ended = 0; ended < n;)
        if (q.pop(v) == bf::channel_op_status::success && v < 0) ++ended;
    for (auto& f : producers) f.join();
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_FiberCurveQueueFanIn)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000)->MinTime(kSmallMinTime);
BENCHMARK(BM_FiberCurveQueueFanIn)->Arg(100000)->Iterations(1000000)->Repetitions(3);
BENCHMARK(BM_FiberCurveQueueFanIn)->Arg(1000000)->Iterations(3000000)->Repetitions(1);

void BM_FiberCurveSpawnBatch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    auto stacks = curve_stacks();
    std::vector<bf::fiber> batch;
    batch.reserve(n);
    int runs = 0;
    for (auto _ : state) {
        for (std::size_t i = 0; i < n; ++i) batch.emplace_back(std::allocator_arg, stacks, [&runs] { ++runs; });
        for (auto& f : batch) f.join();
        batch.clear();
    }
    benchmark::DoNotOptimize(runs);
    grove_bench::report_ops(state, static_cast<double>(n));
}
FIBER_CURVE(BM_FiberCurveSpawnBatch, 3);

}  // namespace

BENCHMARK_MAIN();
