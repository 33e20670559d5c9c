// Peer: the grove workloads on Boost.Fiber (round_robin scheduler, main
// thread's own fiber taking part, as grove's main greenlet does). Names match
// core_bench's with "Fiber" for "Grove", so compare.sh can pair them.
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

}  // namespace

BENCHMARK_MAIN();
