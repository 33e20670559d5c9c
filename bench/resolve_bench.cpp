// Mass name resolution (issue #19, gevent's dns_mass_resolve.py): 1,000
// distinct names through a grove::Pool of 50 greenlets, by the c-ares resolver
// (sockets on the hub, no thread) and by the thread-pool resolver (glibc's
// getaddrinfo on grove::get_threadpool(), 10 threads by default).
//
// Both ask the same DNS server, test/support/dns_responder.hpp, run by this
// program on 127.0.0.1:53. glibc only asks resolv.conf's servers on port 53,
// so run it through bench/resolve_compare.sh, which gives the process a
// private mount namespace whose /etc/resolv.conf says "nameserver 127.0.0.1"
// (root needed). Without port 53 only the ares row runs.
#include <cstdio>
#include <string>
#include <system_error>

#include <grove/config.hpp>
#include <grove/grove.hpp>

#include "bench_util.hpp"
#include "dns_responder.hpp"

namespace {

constexpr int kNames = 1000;
constexpr int kPoolSize = 50;

grove::test::DnsResponder* g_dns = nullptr;
bool g_port53 = false;
int g_round = 0;  // fresh names each iteration (neither resolver caches, but be sure)

template <class Resolve>
void mass_resolve(benchmark::State& state, Resolve resolve) {
    for (auto _ : state) {
        const int base = (g_round++ % 100) * kNames;
        int failed = 0;
        grove::Pool pool(kPoolSize);
        for (int i = 0; i < kNames; ++i)
            pool.spawn([&, i] {
                try {
                    if (resolve("host" + std::to_string(base + i) + ".grove.test").empty()) ++failed;
                } catch (const grove::ResolveError&) {
                    ++failed;
                }
            });
        pool.join();
        if (failed) state.SkipWithError((std::to_string(failed) + " names failed").c_str());
    }
    grove_bench::report_ops(state, kNames);
}

void BM_MassResolveAres(benchmark::State& state) {
    mass_resolve(state, [](const std::string& name) { return grove::ares::resolve(name, 80, AF_INET); });
}
BENCHMARK(BM_MassResolveAres)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

void BM_MassResolveThreadPool(benchmark::State& state) {
    if (!g_port53) {
        state.SkipWithError("no DNS server on 127.0.0.1:53 (run through bench/resolve_compare.sh as root)");
        return;
    }
    mass_resolve(state, [](const std::string& name) { return grove::resolve(name, 80, AF_INET); });
}
BENCHMARK(BM_MassResolveThreadPool)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    std::unique_ptr<grove::test::DnsResponder> dns;
    try {
        dns = std::make_unique<grove::test::DnsResponder>(grove::Address::ip("127.0.0.1", 53));
        g_port53 = true;
    } catch (const std::system_error&) {
        dns = std::make_unique<grove::test::DnsResponder>();
    }
    g_dns = dns.get();
    grove::ares::set_servers(dns->servers_csv());
    std::printf("DNS responder on %s; resolver setting: %s\n", dns->address().str().c_str(),
                grove::config::current().resolver.c_str());
    benchmark::RunSpecifiedBenchmarks();
    dns->stop();
    return 0;
}
