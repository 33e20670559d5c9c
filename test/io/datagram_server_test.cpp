// grove io — DatagramServer: a greenlet per datagram, replies through the
// server's socket, IPv4 and IPv6, a Pool bound, stop with a grace period, and
// DatagramServerThreads on one SO_REUSEPORT port.
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/io.hpp>
#include <grove/sync.hpp>

#include "leak_check.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;

class DatagramServerTest : public test::LeakChecked {};

/// One request/reply from a fresh client socket; "" if no reply came in 5 s.
std::string ask(const Address& server, const std::string& msg, Address* replied_from = nullptr) {
    Socket c(server.family(), SOCK_DGRAM);
    c.settimeout(5s);
    c.sendto(msg, server);
    try {
        auto [data, from] = c.recvfrom(65536);
        if (replied_from) *replied_from = from;
        return data;
    } catch (const SocketTimeout&) {
        return "";
    }
}

TEST_F(DatagramServerTest, EchoesForManyConcurrentClients) {
    DatagramServer server(Address::ip("127.0.0.1", 0),
                          [&](const std::string& data, const Address& from) { server.sendto(data, from); });
    server.start();
    ASSERT_NE(server.address().port(), 0);
    int ok = 0;
    std::vector<Ref<GreenletBase>> clients;
    for (int i = 0; i < 100; ++i)
        clients.push_back(spawn([&, i] {
            const std::string msg = "msg-" + std::to_string(i);
            if (ask(server.address(), msg) == msg) ++ok;
        }));
    joinall(clients, 10s);
    EXPECT_EQ(ok, 100);
    server.stop();
    EXPECT_EQ(server.handler_count(), 0u);
}

TEST_F(DatagramServerTest, ReplyComesFromTheServersAddressAndHandlerSeesTheSender) {
    Address seen;
    DatagramServer server(Address::ip("127.0.0.1", 0), [&](const std::string& data, const Address& from) {
        seen = from;
        server.sendto("re:" + data, from);
    });
    server.start();
    Address replied_from;
    Socket c(AF_INET, SOCK_DGRAM);
    c.bind(Address::ip("127.0.0.1", 0));
    c.settimeout(5s);
    c.sendto("hi", server.address());
    auto [data, from] = c.recvfrom(100);
    EXPECT_EQ(data, "re:hi");
    EXPECT_EQ(from, server.address());
    EXPECT_EQ(seen, c.getsockname());
    server.stop();
}

TEST_F(DatagramServerTest, ServesIpv6) {
    Socket probe(AF_INET6, SOCK_DGRAM);
    try {
        probe.bind(Address::ip("::1", 0));
    } catch (const std::system_error&) {
        GTEST_SKIP() << "no IPv6 loopback on this machine";
    }
    probe.close();
    DatagramServer server(Address::ip("::1", 0),
                          [&](const std::string& data, const Address& from) { server.sendto(data, from); });
    server.start();
    EXPECT_EQ(server.address().family(), AF_INET6);
    Address from;
    EXPECT_EQ(ask(server.address(), "six", &from), "six");
    EXPECT_EQ(from, server.address());
    server.stop();
}

TEST_F(DatagramServerTest, EachDatagramGetsItsOwnGreenlet) {
    // The first handler blocks until the second has run: with one greenlet
    // for all datagrams this would never finish.
    Event second_done;
    std::vector<std::string> order;
    DatagramServer server(Address::ip("127.0.0.1", 0), [&](const std::string& data, const Address& from) {
        if (data == "first") second_done.wait(5s);
        order.push_back(data);
        if (data == "second") second_done.set();
        server.sendto(data, from);
    });
    server.start();
    Socket a(AF_INET, SOCK_DGRAM), b(AF_INET, SOCK_DGRAM);
    a.settimeout(5s);
    b.settimeout(5s);
    a.sendto("first", server.address());  // queued in this order on the server's socket
    b.sendto("second", server.address());
    EXPECT_EQ(b.recv(100), "second");
    EXPECT_EQ(a.recv(100), "first");
    EXPECT_EQ(order, (std::vector<std::string>{"second", "first"}));
    server.stop();
}

TEST_F(DatagramServerTest, PoolBoundsConcurrentHandlers) {
    Pool pool(3);
    int running = 0;
    int peak = 0;
    DatagramServer server(
        Address::ip("127.0.0.1", 0),
        [&](const std::string& data, const Address& from) {
            peak = std::max(peak, ++running);
            sleep(5ms);
            --running;
            server.sendto(data, from);
        },
        &pool);
    server.start();
    int ok = 0;
    std::vector<Ref<GreenletBase>> clients;
    for (int i = 0; i < 20; ++i)
        clients.push_back(spawn([&, i] {
            if (ask(server.address(), std::to_string(i)) == std::to_string(i)) ++ok;
        }));
    joinall(clients, 10s);
    EXPECT_EQ(ok, 20);
    EXPECT_EQ(peak, 3);
    server.stop();
}

TEST_F(DatagramServerTest, StopWaitsForHandlersThenKillsTheRest) {
    int started = 0;
    Event both_started;
    bool finished_quick = false;
    bool unwound_slow = false;
    DatagramServer server(Address::ip("127.0.0.1", 0), [&](const std::string& data, const Address&) {
        if (++started == 2) both_started.set();
        if (data == "quick") {
            sleep(20ms);
            finished_quick = true;
            return;
        }
        struct Flag {
            bool* f;
            ~Flag() { *f = true; }
        } flag{&unwound_slow};
        sleep(1h);
    });
    server.start();
    Socket c(AF_INET, SOCK_DGRAM);
    c.sendto("quick", server.address());
    c.sendto("slow", server.address());
    ASSERT_TRUE(both_started.wait(5s));
    server.stop(200ms);
    EXPECT_TRUE(finished_quick);
    EXPECT_TRUE(unwound_slow);
    EXPECT_EQ(server.handler_count(), 0u);
    EXPECT_TRUE(server.closed());
    EXPECT_THROW(server.sendto("late", c.getsockname()), std::system_error);
    EXPECT_THROW(server.start(), std::logic_error);
}

TEST_F(DatagramServerTest, ServeForeverReturnsWhenAnotherGreenletStopsIt) {
    DatagramServer server(Address::ip("127.0.0.1", 0), [](const std::string&, const Address&) {});
    auto serving = spawn([&] { server.serve_forever(); });
    sleep();
    EXPECT_TRUE(server.started());
    server.stop();
    EXPECT_TRUE(serving->join(5s));
    EXPECT_TRUE(serving->successful());
}

TEST_F(DatagramServerTest, KillingServeForeverStopsTheServer) {
    DatagramServer server(Address::ip("127.0.0.1", 0), [](const std::string&, const Address&) {});
    auto serving = spawn([&] { server.serve_forever(); });
    sleep();
    serving->kill();
    EXPECT_TRUE(server.closed());
}

TEST_F(DatagramServerTest, BadArgumentsAreClearErrors) {
    EXPECT_THROW(DatagramServer(Address::ip("127.0.0.1", 0), nullptr), std::invalid_argument);
    EXPECT_THROW(DatagramServer(Socket(AF_INET, SOCK_STREAM), [](const std::string&, const Address&) {}),
                 std::invalid_argument);
    DatagramServer server(Address::ip("127.0.0.1", 0), [](const std::string&, const Address&) {});
    EXPECT_THROW(server.set_max_datagram(0), std::invalid_argument);
    // A port someone else holds without SO_REUSEPORT: bind fails at start().
    Socket taken(AF_INET, SOCK_DGRAM);
    taken.bind(Address::ip("127.0.0.1", 0));
    DatagramServer clash(taken.getsockname(), [](const std::string&, const Address&) {});
    EXPECT_THROW(clash.start(), std::system_error);
}

TEST_F(DatagramServerTest, ThreadsShareOnePortAndEveryThreadServes) {
    std::mutex mutex;
    std::set<std::thread::id> served_by;
    DatagramServerThreads servers(Address::ip("127.0.0.1", 0), 2,
                                  [&](DatagramServer& server, const std::string& data, const Address& from) {
                                      {
                                          std::lock_guard<std::mutex> lock(mutex);
                                          served_by.insert(std::this_thread::get_id());
                                      }
                                      server.sendto(data, from);
                                  });
    servers.start();
    ASSERT_NE(servers.address().port(), 0);
    int ok = 0;
    std::vector<Ref<GreenletBase>> clients;
    // The kernel picks the socket by a hash of the source address: 64 source
    // ports all landing on one of two sockets has odds of 2^-63.
    for (int i = 0; i < 64; ++i)
        clients.push_back(spawn([&, i] {
            if (ask(servers.address(), std::to_string(i)) == std::to_string(i)) ++ok;
        }));
    joinall(clients, 10s);
    servers.stop();
    EXPECT_EQ(ok, 64);
    EXPECT_EQ(served_by.size(), 2u);
    EXPECT_FALSE(served_by.count(std::this_thread::get_id()));
}

}  // namespace
}  // namespace grove
