// grove io — ServerThreads: one hub per thread on SO_REUSEPORT listeners.
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/io.hpp>

#include "io_test_util.hpp"
#include "leak_check.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;

class ServerThreadsTest : public test::LeakChecked {};

TEST_F(ServerThreadsTest, ReuseportListenersShareOnePort) {
    auto ls = reuseport_listeners(Address::ip("127.0.0.1", 0), 3);
    ASSERT_EQ(ls.size(), 3u);
    const auto port = ls[0].getsockname().port();
    for (auto& l : ls) EXPECT_EQ(l.getsockname().port(), port);
}

TEST_F(ServerThreadsTest, TwoThreadsServeConcurrently) {
    std::mutex mutex;
    std::set<std::thread::id> served_by;
    ServerThreads servers(Address::ip("127.0.0.1", 0), 2, [&](Socket& s, const Address&) {
        {
            std::lock_guard<std::mutex> lock(mutex);
            served_by.insert(std::this_thread::get_id());
        }
        test::echo(s);
    });
    servers.start();
    const auto port = servers.address().port();
    ASSERT_NE(port, 0);
    // 32 connections open at once: each thread's hub serves its share while
    // the other's connections are still open.
    std::vector<Socket> conns;
    for (int i = 0; i < 32; ++i) conns.push_back(create_connection("127.0.0.1", port, 2s));
    std::vector<Ref<GreenletBase>> rounds;
    int ok = 0;
    for (auto& c : conns)
        rounds.push_back(spawn([&ok, &c] {
            c.sendall("ping");
            if (test::recv_exactly(c, 4) == "ping") ++ok;
        }));
    joinall(rounds, 5s);
    EXPECT_EQ(ok, 32);
    conns.clear();
    servers.stop();
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(served_by.size(), 2u);
    EXPECT_EQ(served_by.count(std::this_thread::get_id()), 0u);
}

TEST_F(ServerThreadsTest, StopKillsIdleConnections) {
    ServerThreads servers(Address::ip("127.0.0.1", 0), 2, [](Socket& s, const Address&) { test::echo(s); });
    servers.start();
    Socket idle = create_connection("127.0.0.1", servers.address().port(), 2s);
    idle.sendall("x");
    EXPECT_EQ(test::recv_exactly(idle, 1), "x");
    servers.stop(10ms);
    EXPECT_EQ(test::recv_to_eof(idle), "");
}

}  // namespace
}  // namespace grove
