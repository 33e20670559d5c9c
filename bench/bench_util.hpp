// grove benchmarks — shared helpers: the per-operation counters every bench
// reports, so that compare.sh can read "ns_per_op" from any binary (grove,
// baselines and peers alike).
#pragma once

#include <benchmark/benchmark.h>

namespace grove_bench {

/// Reports `ops_per_iteration` operations per benchmark iteration as
///   ns_per_op  nanoseconds of CPU time per operation (what RESULTS.md quotes)
///   ops_per_s  operations per second of CPU time
/// (`ops` is a switch, a sleep(0), a spawn+join... whatever the bench names.)
inline void report_ops(benchmark::State& state, double ops_per_iteration) {
    using benchmark::Counter;
    state.counters["ns_per_op"] =
        Counter(ops_per_iteration / 1e9, Counter::kIsIterationInvariantRate | Counter::kInvert);
    state.counters["ops_per_s"] = Counter(ops_per_iteration, Counter::kIsIterationInvariantRate);
}

}  // namespace grove_bench
