// grove-sync benchmarks. Each ping-pong runs between the benchmark's own
// (main) greenlet and one partner greenlet, so it measures two hand-overs and
// two switches per iteration; BM_Baseline_YieldPingPong is the same round trip
// made with the core alone (grove::sleep() yields), the floor to compare with.
#include <benchmark/benchmark.h>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/sync.hpp>

namespace {

void BM_Baseline_YieldPingPong(benchmark::State& state) {
    bool stop = false;
    auto partner = grove::spawn([&] {
        while (!stop) grove::sleep();
    });
    for (auto _ : state) grove::sleep();
    stop = true;
    partner->join();
}
BENCHMARK(BM_Baseline_YieldPingPong);

void BM_Event_SetWaitPingPong(benchmark::State& state) {
    grove::Event ping, pong;
    bool stop = false;
    auto partner = grove::spawn([&] {
        for (;;) {
            ping.wait();
            ping.clear();
            if (stop) return;
            pong.set();
        }
    });
    for (auto _ : state) {
        ping.set();
        pong.wait();
        pong.clear();
    }
    stop = true;
    ping.set();
    partner->join();
}
BENCHMARK(BM_Event_SetWaitPingPong);

template <class Q>
void queue_ping_pong(benchmark::State& state, Q& there, Q& back) {
    auto partner = grove::spawn([&] {
        for (;;) {
            const int x = there.get();
            if (x < 0) return;
            back.put(x);
        }
    });
    int i = 0;
    for (auto _ : state) {
        there.put(i++);
        benchmark::DoNotOptimize(back.get());
    }
    there.put(-1);
    partner->join();
}

void BM_Queue_PutGetPingPong(benchmark::State& state) {
    grove::Queue<int> there, back;
    queue_ping_pong(state, there, back);
}
BENCHMARK(BM_Queue_PutGetPingPong);

void BM_Queue_PutGetUncontended(benchmark::State& state) {
    grove::Queue<int> q;
    for (auto _ : state) {
        q.put(1);
        benchmark::DoNotOptimize(q.get());
    }
}
BENCHMARK(BM_Queue_PutGetUncontended);

void BM_Channel_PingPong(benchmark::State& state) {
    grove::Channel<int> there, back;
    queue_ping_pong(state, there, back);
}
BENCHMARK(BM_Channel_PingPong);

void BM_Semaphore_Uncontended(benchmark::State& state) {
    grove::Semaphore s(1);
    for (auto _ : state) {
        s.acquire();
        s.release();
    }
}
BENCHMARK(BM_Semaphore_Uncontended);

void BM_Semaphore_Contended(benchmark::State& state) {
    grove::Lock lock;
    bool stop = false;
    auto partner = grove::spawn([&] {
        while (!stop) {
            lock.acquire();
            grove::sleep();
            lock.release();
        }
    });
    for (auto _ : state) {
        lock.acquire();
        grove::sleep();
        lock.release();
    }
    stop = true;
    partner->join();
}
BENCHMARK(BM_Semaphore_Contended);

void BM_Pool_SpawnThroughput(benchmark::State& state) {
    grove::Pool pool(static_cast<std::size_t>(state.range(0)));
    std::int64_t ran = 0;
    for (auto _ : state) pool.spawn([&ran] { ++ran; });
    pool.join();
    state.SetItemsProcessed(ran);
}
BENCHMARK(BM_Pool_SpawnThroughput)->Arg(1)->Arg(16)->Arg(1024);

void BM_Baseline_SpawnThroughput(benchmark::State& state) {
    std::int64_t ran = 0;
    for (auto _ : state) {
        grove::spawn([&ran] { ++ran; });
        if ((ran & 1023) == 0) grove::sleep();
    }
    grove::get_hub().join();
    state.SetItemsProcessed(ran);
}
BENCHMARK(BM_Baseline_SpawnThroughput);

}  // namespace

BENCHMARK_MAIN();
