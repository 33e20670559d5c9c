// grove benchmarks — what the monitor costs on the switch path: a yield ring
// of 100 greenlets with the monitor thread off, then on (sampling every hub
// each 25 ms). Both pay the one relaxed store per switch that lets a monitor
// watch the hub; compare "off" with core_bench's BM_GroveYieldRing, from a
// build before that store, for its cost. Per-greenlet timing
// (GROVE_GREENLET_TIMING) is a separate setting and is off in both.
//
// Each case makes a fresh hub and destroys it at the end.
#include <memory>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/util.hpp>

#include "bench_util.hpp"

namespace {

constexpr int kRing = 100;

void yield_ring(benchmark::State& state) {
    auto stop = std::make_shared<bool>(false);
    std::vector<grove::Ref<grove::GreenletBase>> ring;
    for (int i = 0; i < kRing; ++i)
        ring.push_back(grove::spawn([stop] {
            while (!*stop) grove::sleep();
        }));
    grove::sleep();                       // all of them begun
    for (auto _ : state) grove::sleep();  // one lap: every greenlet yields once
    *stop = true;
    grove::joinall(ring);
    grove_bench::report_ops(state, kRing + 1);
}

void BM_YieldRingMonitorOff(benchmark::State& state) {
    grove::util::stop_monitor();
    yield_ring(state);
    grove::get_hub().destroy();
}
BENCHMARK(BM_YieldRingMonitorOff);

void BM_YieldRingMonitorOn(benchmark::State& state) {
    grove::util::start_monitor({grove::Duration(0.1), 0});
    yield_ring(state);
    grove::get_hub().destroy();
    grove::util::stop_monitor();
}
BENCHMARK(BM_YieldRingMonitorOn);

}  // namespace

BENCHMARK_MAIN();
