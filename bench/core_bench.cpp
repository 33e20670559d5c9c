// grove benchmarks — the core: switch, sleep(0), yield ring, spawn+join,
// Timeout. Baselines for the same work are in baseline_bench.cpp (raw
// fcontext / boost::context::fiber, same flags); compare.sh runs both.
//
// The benchmark loop runs in the thread's main greenlet, which takes part in
// every ping-pong as one side, so each number includes grove's whole path
// (wake/schedule, pick_next, the switch, errno/EH save-restore, the periodic
// hub visit that polls libev).
#include <chrono>
#include <memory>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/timeout.hpp>
#include <grove/waiter.hpp>

#include "compact.hpp"
#include "context.hpp"
#include "stack.hpp"

#include "bench_util.hpp"

namespace {

using namespace std::chrono_literals;

// --- spawn + run + join (first: they measure a pool that never held > 1024 free
// stacks)------------------------------------------------------

void BM_GroveSpawnJoin(benchmark::State& state) {
    int runs = 0;
    for (auto _ : state) {
        auto g = grove::spawn([&runs] { ++runs; });
        g->join();
    }
    benchmark::DoNotOptimize(runs);
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_GroveSpawnJoin);

// Spawn a batch, then joinall: per greenlet.
void BM_GroveSpawnBatch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    int runs = 0;
    std::vector<grove::Ref<grove::GreenletBase>> batch;
    batch.reserve(n);
    for (auto _ : state) {
        for (std::size_t i = 0; i < n; ++i) batch.push_back(grove::spawn([&runs] { ++runs; }));
        grove::joinall(batch);
        batch.clear();
    }
    benchmark::DoNotOptimize(runs);
    grove_bench::report_ops(state, static_cast<double>(n));
}
BENCHMARK(BM_GroveSpawnBatch)->Arg(20000);

// Spawn a batch of greenlets that each sleep(0) once (so all are alive at the
// same time, each with its own stack), then joinall: per greenlet.
void BM_GroveSpawnBatchLive(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<grove::Ref<grove::GreenletBase>> batch;
    batch.reserve(n);
    for (auto _ : state) {
        for (std::size_t i = 0; i < n; ++i) batch.push_back(grove::spawn([] { grove::sleep(); }));
        grove::joinall(batch);
        batch.clear();
    }
    grove_bench::report_ops(state, static_cast<double>(n));
}
BENCHMARK(BM_GroveSpawnBatchLive)->Arg(20000);

// spawn + run + join once the stack pool holds more than its hot cap of free
// stacks (after any burst of > 1024 live greenlets). Registered after the
// benches above on purpose: it leaves the pool in that state.
void BM_GroveSpawnJoinAfterBurst(benchmark::State& state) {
    {
        std::vector<grove::Ref<grove::GreenletBase>> burst;
        for (int i = 0; i < 5000; ++i) burst.push_back(grove::spawn([] { grove::sleep(); }));
        grove::joinall(burst);
    }
    for (auto _ : state) grove::spawn([] {})->join();
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_GroveSpawnJoinAfterBurst);

// --- grove's switch function alone (lib/core/context.cpp), no scheduling -------------
//
// What a greenlet.switch() would cost: context_switch() saves/restores errno
// and the C++ EH globals and checks the canary of unguarded stacks around one
// jump_fcontext. Compare with BM_RawFcontextSwitch.
struct SwitchPair {
    grove::detail::ContextState self;
    grove::detail::ContextState partner;
};
SwitchPair* g_pair = nullptr;

[[noreturn]] void switch_partner_entry() {
    for (;;) grove::detail::context_switch(g_pair->partner, g_pair->self);
}

void run_context_switch(benchmark::State& state, bool guarded) {
    // Creates the hub and lets its loop fiber start: context_make() leaves the
    // entry point in a per-thread slot read at the first switch, so the hub
    // fiber must be past its first switch before we make our own context.
    grove::sleep();
    grove::detail::StackPool pool;
    SwitchPair pair;
    pair.self.stack_guarded = true;  // the thread's own stack
    pool.allocate(pair.partner, 0);
    const bool was_guarded = pair.partner.stack_guarded;
    pair.partner.stack_guarded = guarded;  // unguarded: the canary is checked on every switch-out
    if (!guarded) grove::detail::stack_write_canary(pair.partner.stack_base);
    g_pair = &pair;
    grove::detail::context_make(pair.partner, &switch_partner_entry);
    for (auto _ : state) grove::detail::context_switch(pair.self, pair.partner);
    pair.partner.stack_guarded = was_guarded;
    pool.release(pair.partner);  // the partner loop owns nothing: its stack is simply dropped
    g_pair = nullptr;
    grove_bench::report_ops(state, 2);
}
void BM_GroveContextSwitch(benchmark::State& state) { run_context_switch(state, true); }
void BM_GroveContextSwitchCanary(benchmark::State& state) { run_context_switch(state, false); }
BENCHMARK(BM_GroveContextSwitch);
BENCHMARK(BM_GroveContextSwitchCanary);

// --- one-way switch through Waiter wake()/wait() ---------------------------------
//
// main: wake(partner); wait()  →  partner: wake(main); wait()  → ...
// One iteration = 2 one-way switches (both direct: no hub visit in between,
// except the hub's periodic libev poll every 256 direct switches).
void BM_GroveWaiterSwitch(benchmark::State& state) {
    grove::Waiter mine("bench main");
    grove::Waiter* theirs = nullptr;
    bool stop = false;
    auto partner = grove::spawn([&] {
        grove::Waiter w("bench partner");
        theirs = &w;
        for (;;) {
            w.wait();
            w.reset();
            if (stop) break;
            mine.wake();
        }
        theirs = nullptr;
    });
    grove::sleep();  // let the partner reach its wait
    for (auto _ : state) {
        mine.reset();
        theirs->wake();
        mine.wait();
    }
    stop = true;
    theirs->wake();
    partner->join();
    grove_bench::report_ops(state, 2);
}
BENCHMARK(BM_GroveWaiterSwitch);

// --- sleep(0) ping-pong and the N-greenlet yield ring ------------------------------
//
// N greenlets in all (main + N-1 spawned) call sleep(0) in turn; one iteration
// is main's sleep(0), during which each other greenlet yields once: N yields.
void BM_GroveYieldRing(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    bool stop = false;
    std::vector<grove::Ref<grove::GreenletBase>> ring;
    ring.reserve(n - 1);
    for (std::size_t i = 1; i < n; ++i)
        ring.push_back(grove::spawn([&stop] {
            while (!stop) grove::sleep();
        }));
    grove::sleep();  // every member has started and is now yielding
    for (auto _ : state) grove::sleep();
    stop = true;
    grove::joinall(ring);
    grove_bench::report_ops(state, static_cast<double>(n));
}
BENCHMARK(BM_GroveYieldRing)->Arg(2)->Arg(100)->Arg(10000);

// --- Timeout ---------------------------------------------------------------------

void BM_GroveTimeoutArmCancel(benchmark::State& state) {
    grove::get_hub();
    for (auto _ : state) {
        grove::Timeout t(10s);
        benchmark::DoNotOptimize(&t);
    }
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_GroveTimeoutArmCancel);

// sleep(d) with d > 0 that is cut short is not measurable without a clock;
// a Waiter with a timeout that is woken first is: arm + wake + disarm.
void BM_GroveWaiterTimedWakeFirst(benchmark::State& state) {
    grove::get_hub();
    for (auto _ : state) {
        grove::Waiter w("bench");
        w.wake();
        benchmark::DoNotOptimize(w.wait(10s));
    }
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_GroveWaiterTimedWakeFirst);

// What compact mode adds to one park and resume: the main greenlet wakes a
// greenlet parked in a Waiter and yields to it; it makes a new Waiter and
// parks again. The Waiter is on the heap, as grove::sleep's is in compact
// mode, so nothing pins the stack. Arg 0: a default greenlet. 1: a compact
// one, resumed before the hub next blocks, so never copied (a short park).
// 2: a compact one whose copy-out is forced at every park, as when the hub
// blocks before it resumes (a long park): copied out, its pages given back,
// copied home (the page faults back in).
void BM_GroveParkResume(benchmark::State& state) {
    grove::get_hub();
    grove::SpawnOptions options;
    options.compact = state.range(0) != 0;
    const bool long_park = state.range(0) == 2;
    grove::Waiter* parked = nullptr;
    bool stop = false;
    auto g = grove::spawn_with(options, [&parked, &stop] {
        while (!stop) {
            const auto w = std::make_unique<grove::Waiter>("bench");
            parked = w.get();
            w->wait();
        }
    });
    grove::sleep();
    for (auto _ : state) {
        if (long_park) grove::detail::compact_flush();
        parked->wake();
        grove::sleep();
    }
    stop = true;
    parked->wake();
    g->join();
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_GroveParkResume)->Arg(0)->Arg(1)->Arg(2);

}  // namespace

BENCHMARK_MAIN();
