// loadgen — a TCP load generator for echo and HTTP servers: N connections,
// each sending one request at a time for a fixed duration; prints requests/s
// and the p50/p99 latency of all requests. Runs on grove itself (a greenlet
// per connection, --threads hubs), so it is the same client for every server.
//
//   loadgen --port P [--host 127.0.0.1] [--connections 50] [--duration 5]
//           [--size 64] [--mode echo|http] [--threads 1]
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/io.hpp>

#include "cli.hpp"

namespace {

constexpr const char* kUsage =
    "usage: grove-loadgen --port P [--host 127.0.0.1] [--connections 50] [--duration 5] [--size 64]\n"
    "                     [--mode echo|http] [--threads 1]\n";

struct Config {
    grove::Address target;
    bool http = false;
    std::size_t size = 64;
    grove::Deadline deadline;
};

struct Totals {
    std::mutex mutex;
    std::vector<std::uint32_t> latencies_us;  // one per completed request
    std::uint64_t errors = 0;
};

/// Reads one HTTP response (headers + Content-Length body); `buf` keeps what
/// follows it. Returns false if the server closed.
bool read_http_response(grove::Socket& s, std::string& buf) {
    char chunk[16384];
    std::size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        const std::size_t n = s.recv_into(chunk, sizeof chunk);
        if (n == 0) return false;
        buf.append(chunk, n);
    }
    std::size_t length = 0;
    const auto cl = buf.find("Content-Length:");
    if (cl != std::string::npos && cl < end) length = std::stoul(buf.substr(cl + 15));
    while (buf.size() < end + 4 + length) {
        const std::size_t n = s.recv_into(chunk, sizeof chunk);
        if (n == 0) return false;
        buf.append(chunk, n);
    }
    buf.erase(0, end + 4 + length);
    return true;
}

bool read_echo(grove::Socket& s, std::size_t size) {
    char chunk[65536];
    while (size > 0) {
        const std::size_t n = s.recv_into(chunk, std::min(size, sizeof chunk));
        if (n == 0) return false;
        size -= n;
    }
    return true;
}

void client(const Config& cfg, std::vector<std::uint32_t>& latencies, std::uint64_t& errors) {
    const std::string request =
        cfg.http ? std::string("GET / HTTP/1.1\r\nHost: loadgen\r\n\r\n") : std::string(cfg.size, 'x');
    try {
        grove::Socket s(cfg.target.family(), SOCK_STREAM);
        s.settimeout(grove::Duration{5});
        s.connect(cfg.target);
        if (cfg.target.family() != AF_UNIX) s.set_nodelay();
        std::string buf;
        while (grove::Clock::now() < cfg.deadline) {
            const auto t0 = grove::Clock::now();
            s.sendall(request);
            if (!(cfg.http ? read_http_response(s, buf) : read_echo(s, request.size()))) {
                ++errors;
                return;
            }
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(grove::Clock::now() - t0).count();
            latencies.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
        }
    } catch (const std::system_error&) {
        ++errors;
    } catch (const grove::TimeoutError&) {
        ++errors;
    }
}

void run_thread(const Config& cfg, std::size_t connections, Totals& totals) {
    std::vector<std::uint32_t> latencies;
    std::uint64_t errors = 0;
    std::vector<grove::Ref<grove::GreenletBase>> clients;
    for (std::size_t i = 0; i < connections; ++i)
        clients.push_back(grove::spawn([&] { client(cfg, latencies, errors); }));
    grove::joinall(clients);
    clients.clear();
    grove::get_hub().destroy();
    std::lock_guard<std::mutex> lock(totals.mutex);
    totals.latencies_us.insert(totals.latencies_us.end(), latencies.begin(), latencies.end());
    totals.errors += errors;
}

std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
    return sorted[i];
}

}  // namespace

int main(int argc, char** argv) {
    net::Options opts(argc, argv,
                      {{"host", "127.0.0.1"},
                       {"port", "0"},
                       {"connections", "50"},
                       {"duration", "5"},
                       {"size", "64"},
                       {"mode", "echo"},
                       {"threads", "1"}},
                      kUsage);
    if (opts.num("port") <= 0) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    const auto connections = static_cast<std::size_t>(std::max(1L, opts.num("connections")));
    const auto threads = std::min(connections, static_cast<std::size_t>(std::max(1L, opts.num("threads"))));
    const double duration = opts.real("duration");
    Config cfg;
    cfg.target = opts.address();
    cfg.http = opts.str("mode") == "http";
    cfg.size = static_cast<std::size_t>(std::max(1L, opts.num("size")));
    cfg.deadline = grove::Clock::now() + std::chrono::duration_cast<grove::Clock::duration>(grove::Duration{duration});

    Totals totals;
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < threads; ++t) {
        const std::size_t share = connections / threads + (t < connections % threads ? 1 : 0);
        workers.emplace_back([&cfg, share, &totals] { run_thread(cfg, share, totals); });
    }
    for (auto& w : workers) w.join();

    auto& lat = totals.latencies_us;
    std::sort(lat.begin(), lat.end());
    std::printf(
        "mode=%s connections=%zu threads=%zu duration=%.2fs requests=%zu req/s=%.0f p50_us=%u p99_us=%u "
        "errors=%" PRIu64 "\n",
        cfg.http ? "http" : "echo", connections, threads, duration, lat.size(),
        static_cast<double>(lat.size()) / duration, percentile(lat, 0.50), percentile(lat, 0.99), totals.errors);
    return totals.errors == 0 && !lat.empty() ? 0 : 1;
}
