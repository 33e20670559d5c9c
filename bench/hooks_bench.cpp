// grove-hooks benchmarks: the thread primitive hooks (issue 13).
//   BM_StdMutex_Libc            std::mutex-style lock+unlock through libc's own functions (the plain call)
//   BM_StdMutex_Hooked          std::mutex lock+unlock through the hooks, patched, in a greenlet (uncontended)
//   BM_StdMutex_HookedUnpatched the same with the hooks off
//   BM_Handoff_StdMutex         two greenlets take turns on one std::mutex, each yielding while holding
//                               it: every lock parks and every unlock wakes the other (one iteration =
//                               one lock/unlock by each)
//   BM_Handoff_GroveLock        the same with grove::Lock
//   BM_FutureWakeupCrossThread  a plain thread sets a std::promise; the time until the greenlet parked
//                               in future::get() runs again (manual time, per wake-up)
#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <semaphore>
#include <thread>

#include <benchmark/benchmark.h>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/monkey.hpp>
#include <grove/sync.hpp>

#include "bench_util.hpp"

namespace {

using LockFn = int (*)(pthread_mutex_t*);

struct Libc {
    LockFn lock, unlock;
    Libc() {
        void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        lock = reinterpret_cast<LockFn>(dlsym(libc, "pthread_mutex_lock"));
        unlock = reinterpret_cast<LockFn>(dlsym(libc, "pthread_mutex_unlock"));
    }
};

void BM_StdMutex_Libc(benchmark::State& state) {
    static Libc libc;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    for (auto _ : state) {
        libc.lock(&m);
        libc.unlock(&m);
        benchmark::ClobberMemory();
    }
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_StdMutex_Libc);

void run_in_greenlet(benchmark::State& state, bool patched) {
    if (patched) grove::monkey::patch_all();
    std::mutex mu;
    auto g = grove::spawn([&] {
        for (auto _ : state) {
            mu.lock();
            mu.unlock();
            benchmark::ClobberMemory();
        }
    });
    g->join();
    grove::monkey::unpatch_all();
    grove_bench::report_ops(state, 1);
}

void BM_StdMutex_Hooked(benchmark::State& state) { run_in_greenlet(state, true); }
BENCHMARK(BM_StdMutex_Hooked);

void BM_StdMutex_HookedUnpatched(benchmark::State& state) { run_in_greenlet(state, false); }
BENCHMARK(BM_StdMutex_HookedUnpatched);

template <class L>
void handoff(benchmark::State& state, L& lock) {
    bool stop = false;
    auto partner = grove::spawn([&] {
        while (!stop) {
            lock.lock();
            grove::sleep();
            lock.unlock();
            grove::sleep();
        }
    });
    for (auto _ : state) {
        lock.lock();
        grove::sleep();
        lock.unlock();
        grove::sleep();
    }
    stop = true;
    partner->join();
    grove_bench::report_ops(state, 2);
}

void BM_Handoff_StdMutex(benchmark::State& state) {
    grove::monkey::patch_all();
    std::mutex mu;
    handoff(state, mu);
    grove::monkey::unpatch_all();
}
BENCHMARK(BM_Handoff_StdMutex);

struct GroveLockAdapter {
    grove::Lock l;
    void lock() { l.acquire(); }
    void unlock() { l.release(); }
};

void BM_Handoff_GroveLock(benchmark::State& state) {
    GroveLockAdapter l;
    handoff(state, l);
}
BENCHMARK(BM_Handoff_GroveLock);

void BM_FutureWakeupCrossThread(benchmark::State& state) {
    grove::monkey::patch_all();
    std::binary_semaphore go(0);
    std::atomic<std::promise<std::chrono::steady_clock::time_point>*> slot{nullptr};
    std::atomic<bool> stop{false};
    std::thread worker([&] {  // a plain thread: its waits are the real ones
        for (;;) {
            go.acquire();
            if (stop) return;
            slot.load()->set_value(std::chrono::steady_clock::now());
        }
    });
    auto g = grove::spawn([&] {
        for (auto _ : state) {
            std::promise<std::chrono::steady_clock::time_point> p;
            auto f = p.get_future();
            slot = &p;
            go.release();
            const auto sent = f.get();  // parks: the wake-up comes from the worker
            const auto now = std::chrono::steady_clock::now();
            state.SetIterationTime(std::chrono::duration<double>(now - sent).count());
        }
    });
    g->join();
    stop = true;
    go.release();
    worker.join();
    grove::monkey::unpatch_all();
}
BENCHMARK(BM_FutureWakeupCrossThread)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
