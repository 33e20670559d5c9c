// grove::local<T> access cost (issue #19: "no more than a hash lookup").
//
//   BM_LocalGet/N            local<int>::get() in a greenlet holding N locals
//   BM_UnorderedMapFind/N    the baseline: one std::unordered_map<const void*, int>::find
//                            in a map of N entries (what "a hash lookup" costs)
//   BM_ThreadLocal           a thread_local int (free, and wrong under greenlets)
//   BM_LocalFirstAccess      a greenlet's first get(): allocation + insert, then its death
#include <memory>
#include <unordered_map>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/local.hpp>

#include "bench_util.hpp"

namespace {

void BM_LocalGet(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<std::unique_ptr<grove::local<int>>> locals;
    for (std::size_t i = 0; i < n; ++i) locals.push_back(std::make_unique<grove::local<int>>());
    grove::spawn([&] {
        for (auto& l : locals) **l = 1;
        grove::local<int>& probe = *locals[n / 2];
        for (auto _ : state) benchmark::DoNotOptimize(probe.get());
    })->join();
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_LocalGet)->Arg(1)->Arg(10)->Arg(100);

void BM_UnorderedMapFind(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<std::unique_ptr<int>> keys;
    std::unordered_map<const void*, int> map;
    for (std::size_t i = 0; i < n; ++i) {
        keys.push_back(std::make_unique<int>(0));
        map[keys.back().get()] = 1;
    }
    const void* probe = keys[n / 2].get();
    benchmark::DoNotOptimize(probe);
    for (auto _ : state) {
        auto it = map.find(probe);
        benchmark::DoNotOptimize(it->second);
    }
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_UnorderedMapFind)->Arg(1)->Arg(10)->Arg(100);

thread_local int t_value = 0;

void BM_ThreadLocal(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(++t_value);
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_ThreadLocal);

void BM_LocalFirstAccess(benchmark::State& state) {
    grove::local<int> x;
    for (auto _ : state) grove::spawn([&] { benchmark::DoNotOptimize(*x = 1); })->join();
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_LocalFirstAccess);

void BM_SpawnJoinNoLocal(benchmark::State& state) {
    for (auto _ : state) grove::spawn([] { benchmark::ClobberMemory(); })->join();
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_SpawnJoinNoLocal);

}  // namespace

BENCHMARK_MAIN();
