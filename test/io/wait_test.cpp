// grove io — wait_read / wait_write / notify_close.
#include <unistd.h>

#include <system_error>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/io.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;

class WaitRead : public test::LeakChecked {};

TEST_F(WaitRead, ReturnsWhenDataArrives) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Socket& b = ab.second;
    auto writer = spawn([&b] {
        grove::sleep(5ms);
        b.sendall("x");
    });
    wait_read(a.fileno());
    EXPECT_EQ(a.recv(10), "x");
    writer->join();
}

TEST_F(WaitRead, ThrowsTimeoutErrorWhenTheTimeoutPasses) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    EXPECT_THROW(wait_read(a.fileno(), 10ms), TimeoutError);
}

TEST_F(WaitRead, ZeroTimeoutPollsWithoutWaiting) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Socket& b = ab.second;
    EXPECT_THROW(wait_read(a.fileno(), Duration::zero()), TimeoutError);
    b.sendall("x");
    EXPECT_NO_THROW(wait_read(a.fileno(), Duration::zero()));
    EXPECT_NO_THROW(wait_write(a.fileno(), Duration::zero()));
}

TEST_F(WaitRead, RejectsNegativeFd) { EXPECT_THROW(wait_read(-1), std::invalid_argument); }

TEST_F(WaitRead, KillInterruptsTheWait) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    bool exited = false;
    auto g = spawn([&, fd = a.fileno()] {
        try {
            wait_read(fd);
        } catch (const GreenletExit&) {
            exited = true;
            throw;
        }
    });
    grove::sleep(1ms);
    g->kill();
    EXPECT_TRUE(g->dead());
    EXPECT_TRUE(exited);
}

TEST_F(WaitRead, TimeoutGuardInterruptsTheWait) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Timeout t(10ms);
    try {
        wait_read(a.fileno());
        FAIL() << "no timeout";
    } catch (const TimeoutError& e) {
        EXPECT_TRUE(e.from(t));
    }
}

TEST_F(WaitRead, ThrowsLogicErrorFromTheHub) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    bool threw = false;
    get_hub().run_callback([&, fd = a.fileno()] {
        try {
            wait_read(fd, 1s);
        } catch (const std::logic_error&) {
            threw = true;
        }
    });
    grove::sleep(1ms);
    EXPECT_TRUE(threw);
}

class NotifyClose : public test::LeakChecked {};

TEST_F(NotifyClose, WakesEveryWaiterWithEbadf) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    int ebadf = 0;
    auto waiter = [&ebadf](int fd, bool write) {
        try {
            if (write)
                wait_write(fd);  // a full buffer: see below
            else
                wait_read(fd);
        } catch (const std::system_error& e) {
            if (e.code().value() == EBADF) ++ebadf;
        }
    };
    // Fill a's send buffer so a write waiter really waits.
    a.setblocking(false);
    std::string chunk(65536, 'x');
    try {
        for (;;) a.send(chunk);
    } catch (const std::system_error&) {
    }
    auto g1 = spawn(waiter, a.fileno(), false);
    auto g2 = spawn(waiter, a.fileno(), false);
    auto g3 = spawn(waiter, a.fileno(), true);
    grove::sleep(1ms);
    const auto t0 = Clock::now();
    a.close();
    joinall({g1, g2, g3}, 1s);
    EXPECT_EQ(ebadf, 3);
    EXPECT_LT(Clock::now() - t0, 500ms);
}

TEST_F(NotifyClose, ReusedFdNumberGetsNoStaleWakeUp) {
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Socket& b = ab.second;
    const int old_fd = a.fileno();
    bool ebadf = false;
    auto g = spawn([&] {
        try {
            wait_read(old_fd);
        } catch (const std::system_error& e) {
            ebadf = e.code().value() == EBADF;
        }
    });
    grove::sleep(1ms);
    b.sendall("pending data for the old socket");
    a.close();
    b.close();
    g->join();
    EXPECT_TRUE(ebadf);

    // The next socket takes the lowest free number: the old one.
    auto cd = Socket::pair();
    Socket& c = cd.first;
    Socket& d = cd.second;
    ASSERT_TRUE(c.fileno() == old_fd || d.fileno() == old_fd);
    Socket& reused = c.fileno() == old_fd ? c : d;
    Socket& peer = c.fileno() == old_fd ? d : c;
    EXPECT_THROW(wait_read(reused.fileno(), 20ms), TimeoutError);
    auto w = spawn([&peer] {
        grove::sleep(5ms);
        peer.sendall("new");
    });
    wait_read(reused.fileno(), 1s);
    EXPECT_EQ(reused.recv(10), "new");
    w->join();
}

// A raw fd waited on, then closed with plain ::close (no notify_close) and its
// number reused: public waits re-arm every time, so the new fd is watched.
TEST_F(NotifyClose, PlainCloseThenReuseDoesNotHang) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    auto writer = spawn([&p] {
        grove::sleep(2ms);
        ASSERT_EQ(::write(p[1], "x", 1), 1);
    });
    wait_read(p[0], 1s);
    writer->join();
    const int old_fd = p[0];
    ::close(p[0]);
    ::close(p[1]);
    int q[2];
    ASSERT_EQ(::pipe(q), 0);
    ASSERT_TRUE(q[0] == old_fd || q[1] == old_fd);
    const int rd = q[0];
    auto w2 = spawn([&q] {
        grove::sleep(2ms);
        ASSERT_EQ(::write(q[1], "y", 1), 1);
    });
    EXPECT_NO_THROW(wait_read(rd, 2s));
    w2->join();
    ::close(q[0]);
    ::close(q[1]);
    // A closed fd that grove still knows gives EBADF, never a libev abort.
    EXPECT_THROW(wait_read(rd, 10ms), std::system_error);
}

TEST_F(NotifyClose, IsANoOpWithoutWaiters) {
    notify_close(12345);
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Socket& b = ab.second;
    notify_close(a.fileno());
    b.sendall("y");
    EXPECT_EQ(a.recv(1), "y");
}

}  // namespace
}  // namespace grove
