// grove io — StreamServer: a greenlet per connection, stop with a grace period.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/io.hpp>
#include <grove/spawner.hpp>
#include <grove/waiter.hpp>

#include "capture.hpp"
#include "io_test_util.hpp"
#include "leak_check.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;
using test::echo;
using test::recv_exactly;
using test::recv_to_eof;

class StreamServerTest : public test::LeakChecked {};

// Counts handlers as they start; the test parks until enough have (instead
// of polling connection_count() with sleeps).
class Arrivals {
public:
    void arrive() {
        ++count_;
        waiters_.notify_all();
    }
    void wait_for(int n) {
        while (count_ < n) {
            Waiter w("handlers to start", this);
            WaitNode node(w);
            waiters_.push_back(node);
            w.wait();
        }
    }

private:
    int count_ = 0;
    WaitList waiters_;
};

// While alive, whatever the process writes to stderr goes into a pipe that
// the test reads cooperatively, so it can wait for a line to be written.
class StderrPipe {
public:
    StderrPipe() {
        EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0);
        saved_ = ::dup(2);
        ::dup2(fds_[1], 2);
    }
    ~StderrPipe() {
        ::dup2(saved_, 2);
        ::close(saved_);
        ::close(fds_[1]);
        notify_close(fds_[0]);
        ::close(fds_[0]);
    }
    /// Parks until a written line contains `needle`; returns all read so far.
    std::string wait_for(const std::string& needle) {
        while (text_.find(needle) == std::string::npos) {
            wait_read(fds_[0], 10s);
            char buf[4096];
            const ssize_t n = ::read(fds_[0], buf, sizeof buf);
            if (n <= 0) break;
            text_.append(buf, static_cast<std::size_t>(n));
        }
        return text_;
    }

private:
    int fds_[2] = {-1, -1};
    int saved_ = -1;
    std::string text_;
};

TEST_F(StreamServerTest, EchoesForManyConcurrentClients) {
    StreamServer server(Address::ip("127.0.0.1", 0), [](Socket& s, const Address&) { echo(s); });
    server.start();
    ASSERT_NE(server.address().port(), 0);
    int ok = 0;
    std::vector<Ref<GreenletBase>> clients;
    for (int i = 0; i < 200; ++i)
        clients.push_back(spawn([&, i] {
            Socket c = create_connection("127.0.0.1", server.address().port(), 5s);
            const std::string msg = "msg-" + std::to_string(i);
            c.sendall(msg);
            if (recv_exactly(c, msg.size()) == msg) ++ok;
        }));
    joinall(clients, 10s);
    EXPECT_EQ(ok, 200);
    server.stop();
    EXPECT_EQ(server.connection_count(), 0u);
}

TEST_F(StreamServerTest, HandlerSeesThePeerAddress) {
    Address seen;
    StreamServer server(Address::ip("127.0.0.1", 0), [&](Socket& s, const Address& peer) {
        seen = peer;
        s.sendall("bye");
    });
    server.start();
    Socket c = create_connection("127.0.0.1", server.address().port());
    EXPECT_EQ(recv_to_eof(c), "bye");  // closed when the handler returns
    EXPECT_EQ(seen, c.getsockname());
    server.stop();
}

TEST_F(StreamServerTest, StopKillsHandlersStillRunningAfterTheGrace) {
    int killed = 0;
    Arrivals started;
    StreamServer server(Address::ip("127.0.0.1", 0), [&](Socket& s, const Address&) {
        started.arrive();
        try {
            s.recv(10);  // the clients never send
        } catch (const GreenletExit&) {
            ++killed;
            throw;
        }
    });
    server.start();
    std::vector<Socket> clients;
    for (int i = 0; i < 5; ++i) clients.push_back(create_connection("127.0.0.1", server.address().port()));
    started.wait_for(5);
    const auto t0 = Clock::now();
    server.stop(30ms);
    EXPECT_GE(Clock::now() - t0, 25ms);
    EXPECT_EQ(killed, 5);
    EXPECT_TRUE(server.closed());
    for (auto& c : clients) EXPECT_EQ(recv_to_eof(c), "");  // their sockets were closed
    ASSERT_TRUE(get_hub().join());                          // death links run
    EXPECT_EQ(server.connection_count(), 0u);
}

TEST_F(StreamServerTest, StopLetsHandlersFinishWithinTheGrace) {
    int finished = 0;
    Arrivals started;
    StreamServer server(Address::ip("127.0.0.1", 0), [&](Socket&, const Address&) {
        started.arrive();
        grove::sleep(20ms);  // the handler's work, still running when stop() is called
        ++finished;
    });
    server.start();
    Socket c = create_connection("127.0.0.1", server.address().port());
    started.wait_for(1);
    server.stop(2s);
    EXPECT_EQ(finished, 1);
}

TEST_F(StreamServerTest, ServeForeverReturnsAfterStop) {
    StreamServer server(Address::ip("127.0.0.1", 0), [](Socket& s, const Address&) { echo(s); });
    server.start();
    auto stopper = spawn([&] {
        Socket c = create_connection("127.0.0.1", server.address().port());
        c.sendall("x");
        recv_exactly(c, 1);
        c.close();  // its handler ends by itself: no grace period to wait out
        server.stop();
    });
    server.serve_forever();
    stopper->join();
    EXPECT_TRUE(stopper->successful());
    EXPECT_THROW(server.start(), std::logic_error);
}

TEST_F(StreamServerTest, RefusedAfterStop) {
    StreamServer server(Address::ip("127.0.0.1", 0), [](Socket&, const Address&) {});
    server.start();
    const auto port = server.address().port();
    server.stop();
    EXPECT_THROW(create_connection("127.0.0.1", port, 1s), std::system_error);
}

class CountingSpawner : public Spawner {
public:
    Ref<Greenlet<void>> spawn_task(std::function<void()> fn) override {
        ++spawned;
        return grove::spawn(std::move(fn));
    }
    int spawned = 0;
};

TEST_F(StreamServerTest, SpawnsThroughTheGivenSpawner) {
    CountingSpawner spawner;
    StreamServer server(
        Address::ip("127.0.0.1", 0), [](Socket& s, const Address&) { s.sendall("k"); }, &spawner);
    server.start();
    for (int i = 0; i < 3; ++i) {
        Socket c = create_connection("127.0.0.1", server.address().port());
        EXPECT_EQ(recv_to_eof(c), "k");
    }
    server.stop();
    EXPECT_EQ(spawner.spawned, 3);
}

TEST_F(StreamServerTest, ServesOnAGivenUnixListener) {
    Socket listener(AF_UNIX, SOCK_STREAM);
    const std::string name = std::string(1, '\0') + "grove-server-test-" + std::to_string(::getpid());
    listener.bind(Address::from_path(name));
    StreamServer server(std::move(listener), [](Socket& s, const Address&) { echo(s); });
    server.start();
    Socket c(AF_UNIX, SOCK_STREAM);
    c.connect(Address::from_path(name));
    c.sendall("abstract");
    EXPECT_EQ(recv_exactly(c, 8), "abstract");
    c.close();
    server.stop();
}

// accept(2) failing with EMFILE: the server reports it, backs off, and serves
// the waiting client as soon as descriptors are free again.
TEST_F(StreamServerTest, SurvivesRunningOutOfDescriptorsAndServesWhenTheyComeBack) {
    StreamServer server(Address::ip("127.0.0.1", 0), [](Socket& s, const Address&) { echo(s); });
    server.start();
    Socket client(AF_INET);  // its descriptor exists before the table fills up
    StderrPipe err;
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    const int lowest_free = ::dup(client.fileno());
    ::close(lowest_free);
    rlimit low = saved;
    low.rlim_cur = static_cast<rlim_t>(lowest_free) + 16;  // fills up after a few more
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    std::vector<int> filler;
    for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) filler.push_back(fd);
    ASSERT_EQ(errno, EMFILE);
    client.connect(server.address());                        // completes in the backlog; the server's accept fails
    const std::string text = err.wait_for("accept failed");  // the server tried, and failed
    for (int fd : filler) ::close(fd);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
    client.settimeout(5s);
    client.sendall("still here");
    EXPECT_EQ(recv_exactly(client, 10), "still here");
    EXPECT_NE(text.find("accept failed"), std::string::npos) << text;
    EXPECT_NE(text.find(std::strerror(EMFILE)), std::string::npos) << text;
    client.close();
    server.stop();
}

}  // namespace
}  // namespace grove
