// grove io — Socket, resolve, create_connection (loopback only).
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/io.hpp>
#include <grove/timeout.hpp>

#include "io_test_util.hpp"
#include "leak_check.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;
using test::echo;
using test::listen_local;
using test::recv_exactly;
using test::recv_to_eof;

class SocketTest : public test::LeakChecked {};

TEST_F(SocketTest, EchoWithManyConcurrentClients) {
    Socket listener = listen_local(512);
    const Address where = listener.getsockname();
    std::vector<Ref<GreenletBase>> servers;
    auto acceptor = spawn([&] {
        for (;;) {
            auto conn = std::make_shared<Socket>(listener.accept());
            servers.push_back(spawn([conn] { echo(*conn); }));
        }
    });
    constexpr int kClients = 200;
    int ok = 0;
    std::vector<Ref<GreenletBase>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(spawn([&, i] {
            Socket c(AF_INET, SOCK_STREAM);
            c.connect(where);
            const std::string msg = "hello " + std::to_string(i);
            for (int round = 0; round < 3; ++round) {
                c.sendall(msg);
                if (recv_exactly(c, msg.size()) != msg) return;
                grove::sleep();
            }
            ++ok;
        }));
    }
    joinall(clients, 10s);
    EXPECT_EQ(ok, kClients);
    joinall(servers, 5s);  // clients closed: echo loops see EOF
    acceptor->kill();
}

TEST_F(SocketTest, RecvTimesOutWithSocketTimeout) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Socket& b = ab.second;
    a.settimeout(20ms);
    EXPECT_EQ(a.gettimeout(), Duration(20ms));
    const auto t0 = Clock::now();
    EXPECT_THROW(a.recv(10), SocketTimeout);
    EXPECT_GE(Clock::now() - t0, 15ms);
    b.sendall("late");
    EXPECT_EQ(a.recv(10), "late");  // a timeout loses nothing
}

TEST_F(SocketTest, ConnectTimesOutOnAFullBacklog) {
    Socket listener = listen_local(0);  // never accepts
    const Address where = listener.getsockname();
    std::vector<Socket> queued;
    bool timed_out = false;
    for (int i = 0; i < 16 && !timed_out; ++i) {
        Socket c(AF_INET, SOCK_STREAM);
        c.settimeout(50ms);
        try {
            c.connect(where);
            queued.push_back(std::move(c));
        } catch (const SocketTimeout&) {
            timed_out = true;
        }
    }
    EXPECT_TRUE(timed_out) << "the kernel kept accepting into a full backlog";
}

TEST_F(SocketTest, ZeroTimeoutIsNonBlocking) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Socket& b = ab.second;
    a.setblocking(false);
    try {
        a.recv(10);
        FAIL() << "recv did not fail";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EAGAIN);
        EXPECT_NE(std::string(e.what()).find("grove::Socket::recv"), std::string::npos) << e.what();
    }
    Socket listener = listen_local();
    listener.setblocking(false);
    EXPECT_THROW(listener.accept(), std::system_error);
    b.sendall("now");
    EXPECT_EQ(a.recv(10), "now");
}

TEST_F(SocketTest, HalfCloseReadsToEof) {
    Socket listener = listen_local();
    auto server = spawn([&] {
        Socket conn = listener.accept();
        const std::string request = recv_to_eof(conn);  // ends at the client's SHUT_WR
        conn.sendall("got " + std::to_string(request.size()));
    });
    Socket c(AF_INET, SOCK_STREAM);
    c.connect(listener.getsockname());
    c.sendall(std::string(1000, 'q'));
    c.shutdown(SHUT_WR);
    EXPECT_EQ(recv_to_eof(c), "got 1000");
    server->join();
    EXPECT_TRUE(server->successful());
}

TEST_F(SocketTest, LargeSendallToASlowReader) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Socket& b = ab.second;
    constexpr std::size_t kSize = 16u << 20;
    std::string data(kSize, '\0');
    for (std::size_t i = 0; i < kSize; ++i) data[i] = static_cast<char>(i * 131 % 251);
    std::string got;
    auto reader = spawn([&] {
        char buf[65536];
        for (int n = 0;; ++n) {
            const std::size_t k = b.recv_into(buf, sizeof buf);
            if (k == 0) return;
            got.append(buf, k);
            if (n % 32 == 0) grove::sleep(1ms);  // slow
        }
    });
    a.sendall(data);
    a.close();
    reader->join();
    EXPECT_EQ(got.size(), kSize);
    EXPECT_TRUE(got == data);
}

TEST_F(SocketTest, SendallTimeoutCoversTheWholeCall) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    a.settimeout(30ms);
    EXPECT_THROW(a.sendall(std::string(8u << 20, 'x')), SocketTimeout);  // nobody reads
}

TEST_F(SocketTest, CloseByAnotherGreenletWakesRecvWithEbadf) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    int code = 0;
    auto g = spawn([&] {
        try {
            a.recv(10);
        } catch (const std::system_error& e) {
            code = e.code().value();
        }
    });
    grove::sleep(1ms);
    a.close();
    g->join();
    EXPECT_EQ(code, EBADF);
}

TEST_F(SocketTest, UdpSendtoRecvfrom) {
    Socket server(AF_INET, SOCK_DGRAM);
    server.bind(Address::ip("127.0.0.1", 0));
    Socket client(AF_INET, SOCK_DGRAM);
    client.bind(Address::ip("127.0.0.1", 0));
    auto g = spawn([&] {
        auto [msg, from] = server.recvfrom(100);
        server.sendto("re: " + msg, from);
    });
    client.sendto("ping", server.getsockname());
    auto [reply, from] = client.recvfrom(100);
    EXPECT_EQ(reply, "re: ping");
    EXPECT_EQ(from, server.getsockname());
    EXPECT_EQ(from.str(), "127.0.0.1:" + std::to_string(from.port()));
    g->join();
}

TEST_F(SocketTest, UnixStreamAndDatagram) {
    char dir_template[] = "/tmp/grove-io-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    const Address path = Address::from_path(dir + "/s");
    Socket listener(AF_UNIX, SOCK_STREAM);
    listener.bind(path);
    listener.listen();
    EXPECT_EQ(listener.getsockname().host(), dir + "/s");
    auto server = spawn([&] {
        Socket conn = listener.accept();
        echo(conn);
    });
    Socket c(AF_UNIX, SOCK_STREAM);
    c.connect(path);
    c.sendall("over unix");
    EXPECT_EQ(recv_exactly(c, 9), "over unix");
    c.close();
    server->join();

    auto d1d2 = Socket::pair(AF_UNIX, SOCK_DGRAM);
    Socket& d1 = d1d2.first;
    Socket& d2 = d1d2.second;
    d1.send("one datagram");
    EXPECT_EQ(d2.recv(100), "one datagram");
    std::filesystem::remove_all(dir);
}

TEST_F(SocketTest, Ipv6Loopback) {
    Socket listener;
    try {
        listener = Socket(AF_INET6, SOCK_STREAM);
        listener.bind(Address::ip("::1", 0));
    } catch (const std::system_error& e) {
        GTEST_SKIP() << "no IPv6 loopback: " << e.what();
    }
    listener.listen();
    auto server = spawn([&] {
        Socket conn = listener.accept();
        echo(conn);
    });
    const Address where = listener.getsockname();
    EXPECT_EQ(where.family(), AF_INET6);
    EXPECT_EQ(where.str(), "[::1]:" + std::to_string(where.port()));
    Socket c = create_connection("::1", where.port(), 1s);
    c.sendall("six");
    EXPECT_EQ(recv_exactly(c, 3), "six");
    c.close();
    server->join();
}

double cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// `peer` sends `msg` a moment later, so `reader`'s recv really waits (and its
// fd's watcher gets registered); returns what the recv got.
std::string recv_sent_later(Socket& reader, Socket& peer, const std::string& msg) {
    auto sender = spawn([&peer, msg] {
        grove::sleep(2ms);
        peer.sendall(msg);
    });
    std::string got = reader.recv(10);
    sender->join();
    return got;
}

// The socket's watcher stays registered between waits: data that arrives while
// nobody waits must not spin the loop (level-triggered), and is still seen.
TEST_F(SocketTest, DataArrivingWhileNobodyWaitsNeitherSpinsNorIsLost) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Socket& b = ab.second;
    EXPECT_EQ(recv_sent_later(a, b, "one"), "one");  // waited: the watcher is now registered
    b.sendall("two");
    const double cpu0 = cpu_seconds();
    grove::sleep(100ms);
    EXPECT_LT(cpu_seconds() - cpu0, 0.05) << "an idle watcher kept the loop busy";
    EXPECT_EQ(a.recv(10), "two");
}

// After a short read the next recv waits for readiness first: data already
// pending (or a timeout that is short) must still be read at once.
TEST_F(SocketTest, RecvAfterAShortReadSeesPendingData) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Socket& b = ab.second;
    EXPECT_EQ(recv_sent_later(a, b, "x"), "x");  // short
    b.sendall("yz");
    EXPECT_EQ(a.recv(10), "yz");
    b.sendall("w");
    a.settimeout(Duration{1e-6});
    grove::sleep(1ms);
    EXPECT_EQ(a.recv(10), "w");
    EXPECT_THROW(a.recv(10), SocketTimeout);
    a.settimeout(Duration::zero());
    b.sendall("v");
    EXPECT_EQ(a.recv(10), "v");
    EXPECT_THROW(a.recv(10), std::system_error);  // EAGAIN: never waits
    a.settimeout(std::nullopt);
    b.close();
    EXPECT_EQ(a.recv(10), "");
}

// A detached fd is closed behind grove's back and its number reused: the new
// socket's waits must not trust the old registration (no hang).
TEST_F(SocketTest, DetachedFdClosedPlainlyAndReusedDoesNotHang) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Socket& b = ab.second;
    EXPECT_EQ(recv_sent_later(a, b, "x"), "x");
    const int old_fd = a.detach();
    ::close(old_fd);
    b.close();
    auto cd = Socket::pair();
    Socket& c = cd.first;
    Socket& d = cd.second;
    ASSERT_TRUE(c.fileno() == old_fd || d.fileno() == old_fd);
    Socket& reused = c.fileno() == old_fd ? c : d;
    Socket& peer = c.fileno() == old_fd ? d : c;
    for (int round = 0; round < 3; ++round) {
        reused.settimeout(Duration{2});
        EXPECT_EQ(recv_sent_later(reused, peer, "new"), "new");
    }
}

// Socket::close forgets the registration: the reused number gets a fresh one.
TEST_F(SocketTest, ClosedSocketNumberReusedByTheNextSocket) {
    for (int round = 0; round < 5; ++round) {
        auto ab = Socket::pair();
        Socket& a = ab.first;
        Socket& b = ab.second;
        a.settimeout(Duration{2});
        EXPECT_EQ(recv_sent_later(a, b, "r"), "r");
    }
}

TEST_F(SocketTest, MoveDetachAndOptions) {
    Socket s(AF_INET, SOCK_STREAM);
    s.set_reuseaddr();
    s.set_reuseport();
    s.set_nodelay();
    EXPECT_EQ(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 1);
    EXPECT_EQ(s.family(), AF_INET);
    EXPECT_EQ(s.type(), SOCK_STREAM);
    Socket t = std::move(s);
    EXPECT_FALSE(s.is_open());
    const int fd = t.detach();
    EXPECT_FALSE(t.is_open());
    Socket u = Socket::adopt(fd);
    EXPECT_EQ(u.fileno(), fd);
    EXPECT_THROW(Address::ip("not-a-host", 1), std::invalid_argument);
}

class Resolve : public test::LeakChecked {};

TEST_F(Resolve, NumericHostNeedsNoThread) {
    auto addrs = resolve("127.0.0.1", 80);
    ASSERT_EQ(addrs.size(), 1u);
    EXPECT_EQ(addrs[0].str(), "127.0.0.1:80");
}

TEST_F(Resolve, LocalhostResolvesOnThePool) {
    auto addrs = resolve("localhost", 8080, AF_INET);
    ASSERT_FALSE(addrs.empty());
    EXPECT_EQ(addrs[0].host(), "127.0.0.1");
    EXPECT_EQ(addrs[0].port(), 8080);
}

TEST_F(Resolve, CreateConnectionTriesEveryAddress) {
    Socket listener = listen_local();
    const auto port = listener.getsockname().port();
    auto server = spawn([&] {
        Socket conn = listener.accept();
        echo(conn);
    });
    // "localhost" may resolve to ::1 first, where nobody listens: the next works.
    Socket c = create_connection("localhost", port, 1s);
    EXPECT_EQ(c.gettimeout(), Duration(1s));
    c.sendall("hi");
    EXPECT_EQ(recv_exactly(c, 2), "hi");
    c.close();
    server->join();
}

TEST_F(Resolve, CreateConnectionRefused) {
    Socket listener = listen_local();
    const auto port = listener.getsockname().port();
    listener.close();
    EXPECT_THROW(create_connection("127.0.0.1", port, 1s), std::system_error);
}

}  // namespace
}  // namespace grove
