// tools/net/hiredis_load — unmodified hiredis, through its blocking API
// (redisConnect, redisCommand), in N greenlets made cooperative by grove-hooks:
// the client side of bench/redis_compare.sh (issue 18). It sends what
// `redis-benchmark -t set,get` sends: SET key:__rand_int__ xxx, then
// GET key:__rand_int__, one request at a time on each connection (no
// pipelining), `--requests` of each shared by all greenlets.
//
//   hiredis_load --port PORT [--host 127.0.0.1] [--clients 50] [--requests 100000] [--tests set,get]
//
// One line per test, for scripts:
//   RESULT test=SET clients=50 requests=100000 seconds=0.812 rps=123152 cpu_us_per_req=5.10
// cpu_us_per_req is this process's user+system CPU time (getrusage) over the
// test divided by its requests. Exit status 1 on any error reply or failure.
#include <sys/resource.h>

#include <hiredis.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/monkey.hpp>

#include "cli.hpp"

namespace {

constexpr const char* kUsage =
    "usage: hiredis_load --port PORT [--host 127.0.0.1] [--clients 50] [--requests 100000] [--tests set,get]\n"
    "  N greenlets, each with its own blocking hiredis connection, send the requests\n"
    "  of each test (redis-benchmark's SET and GET) and print one RESULT line per test.\n";

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// One test: `requests` commands spread over the connections, each greenlet
/// taking the next one while any are left. Returns false on an error.
bool run_test(const char* name, const std::vector<redisContext*>& conns, long requests) {
    const bool set = std::strcmp(name, "SET") == 0;
    long left = requests;
    bool ok = true;
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<grove::Ref<grove::GreenletBase>> gs;
    for (redisContext* c : conns) {
        gs.push_back(grove::spawn([&, c] {
            while (left > 0 && ok) {
                --left;
                auto* r = static_cast<redisReply*>(set ? redisCommand(c, "SET key:__rand_int__ xxx")
                                                       : redisCommand(c, "GET key:__rand_int__"));
                if (!r || r->type == REDIS_REPLY_ERROR) {
                    std::fprintf(stderr, "%s failed: %s\n", name, r ? r->str : c->errstr);
                    ok = false;
                }
                if (r) freeReplyObject(r);
            }
        }));
    }
    grove::joinall(gs);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    std::printf("RESULT test=%s clients=%zu requests=%ld seconds=%.3f rps=%.0f cpu_us_per_req=%.2f\n", name,
                conns.size(), requests, secs, static_cast<double>(requests) / secs,
                cpu * 1e6 / static_cast<double>(requests));
    std::fflush(stdout);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    net::Options opt(
        argc, argv,
        {{"host", "127.0.0.1"}, {"port", ""}, {"clients", "50"}, {"requests", "100000"}, {"tests", "set,get"}}, kUsage);
    const long clients = opt.num("clients");
    const long requests = opt.num("requests");
    if (opt.str("port").empty() || clients < 1 || requests < 1) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    grove::monkey::patch_all();
    std::vector<redisContext*> conns;
    bool ok = true;
    // Connect from greenlets too: the hooked connect() waits cooperatively.
    std::vector<grove::Ref<grove::GreenletBase>> gs;
    conns.resize(static_cast<std::size_t>(clients), nullptr);
    for (long i = 0; i < clients; ++i) {
        gs.push_back(grove::spawn([&, i] {
            redisContext* c = redisConnect(opt.str("host").c_str(), static_cast<int>(opt.num("port")));
            if (!c || c->err) {
                std::fprintf(stderr, "connect failed: %s\n", c ? c->errstr : "out of memory");
                ok = false;
            }
            conns[static_cast<std::size_t>(i)] = c;
        }));
    }
    grove::joinall(gs);
    const std::string tests = "," + opt.str("tests") + ",";
    if (ok && tests.find(",set,") != std::string::npos) ok = run_test("SET", conns, requests);
    if (ok && tests.find(",get,") != std::string::npos) ok = run_test("GET", conns, requests);
    for (redisContext* c : conns)
        if (c) redisFree(c);
    return ok ? 0 : 1;
}
