// greenlets_at_work — grove's flagship example: gevent's model in C++.
//
// Everything below is written in plain blocking style; each piece runs as
// many cooperative green threads on one OS thread.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <grove/grove.hpp>

using namespace std::chrono_literals;

namespace {

double seconds_since(grove::Clock::time_point t0) { return grove::Duration(grove::Clock::now() - t0).count(); }

// 1. A thousand green threads sleeping at once take one sleep, not a thousand.
void thousand_sleepers() {
    const auto t0 = grove::Clock::now();
    std::vector<grove::Ref<grove::GreenletBase>> sleepers;
    for (int i = 0; i < 1000; ++i) sleepers.push_back(grove::spawn([] { grove::sleep(100ms); }));
    grove::joinall(sleepers);
    std::printf("1. 1000 greenlets slept 100 ms each: %.3f s in all\n", seconds_since(t0));
}

// 2. An echo server and 100 concurrent clients on loopback, all in this thread.
void echo_server_and_clients() {
    grove::StreamServer server(grove::Address::ip("127.0.0.1", 0), [](grove::Socket& conn, const grove::Address&) {
        for (std::string data; !(data = conn.recv(4096)).empty();) conn.sendall(data);
    });
    server.start();
    const auto port = server.address().port();
    const auto t0 = grove::Clock::now();
    std::vector<grove::Ref<grove::GreenletBase>> clients;
    int ok = 0;
    for (int i = 0; i < 100; ++i)
        clients.push_back(grove::spawn([port, i, &ok] {
            grove::Socket sock = grove::create_connection("127.0.0.1", port, 5s);
            const std::string message = "hello from client " + std::to_string(i);
            for (int round = 0; round < 10; ++round) {
                sock.sendall(message);
                std::string reply;
                while (reply.size() < message.size()) reply += sock.recv(4096);
                ok += reply == message;
            }
        }));
    grove::joinall(clients);
    server.stop();
    std::printf("2. 100 clients x 10 echo round trips: %d correct in %.3f s\n", ok, seconds_since(t0));
}

// 3. A Timeout cuts any blocking section short.
void timeouts() {
    try {
        grove::Timeout guard(50ms);
        grove::sleep(10s);
    } catch (const grove::TimeoutError& e) {
        std::printf("3. Timeout: %s\n", e.what());
    }
}

// 4. Killing a greenlet raises GreenletExit at its blocking point; get()
//    returns it instead of throwing, as gevent does.
void kill_a_sleeper() {
    auto g = grove::spawn([] {
        grove::sleep(4s);
        return 1;
    });
    grove::sleep(10ms);
    g->kill();
    std::printf("4. killed: dead=%d, get().exited()=%d\n", g->dead(), g->get().exited());
}

// 5. Work queue with a bounded pool of workers.
void pool_and_queue() {
    grove::Queue<int> jobs;
    for (int i = 1; i <= 20; ++i) jobs.put(i);
    jobs.shutdown();
    grove::Pool pool(4);
    long total = 0;
    for (int w = 0; w < 4; ++w)
        pool.spawn([&] {
            for (int job : jobs) {
                grove::sleep(5ms);  // pretend to work
                total += job * job;
            }
        });
    pool.join();
    std::printf("5. 4 pooled workers drained 20 jobs: sum of squares = %ld\n", total);
}

// 6. An error that escapes a greenlet is reported on stderr, gevent-style,
//    with the traceback and the function's signature and arguments.
[[gnu::noinline]] int divide(int a, int b) {
    if (b == 0) throw std::domain_error("integer division or modulo by zero");
    return a / b;
}

void failing_greenlet() {
    std::printf("6. a failing greenlet (its report follows on stderr):\n");
    std::fflush(stdout);
    auto g = grove::spawn(&divide, 1, 0);
    g->join();
}

}  // namespace

int main() {
    thousand_sleepers();
    echo_server_and_clients();
    timeouts();
    kill_a_sleeper();
    pool_and_queue();
    failing_greenlet();
    return 0;
}
