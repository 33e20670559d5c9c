// Hooks: the user's view of O_NONBLOCK, pass-through cases, timeouts, close.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "hooks_support.hpp"

namespace grove::test {
namespace {

using namespace std::chrono_literals;
using Hooks = Hooked;

struct Pair {
    int a = -1, b = -1;
    explicit Pair(int type = SOCK_STREAM) {
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, type, 0, sv), 0);
        a = sv[0];
        b = sv[1];
    }
    ~Pair() {
        if (a >= 0) ::close(a);
        if (b >= 0) ::close(b);
    }
};

TEST_F(Hooks, BlockingReadYieldsAndReturnsWhatTheKernelGives) {
    Pair p;
    std::string got;
    auto reader = grove::spawn([&] {
        char buf[64];
        const ssize_t n = ::read(p.a, buf, sizeof buf);  // partial: returns as soon as data is there
        if (n > 0) got.assign(buf, static_cast<size_t>(n));
    });
    grove::sleep(grove::Duration(0.02));
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(::write(p.b, "hello", 5), 5);
    reader->join();
    EXPECT_EQ(got, "hello");
}

TEST_F(Hooks, UserNonBlockingFdsStayNonBlocking) {
    Pair p(SOCK_STREAM);
    int pfd[2];
    ASSERT_EQ(::pipe2(pfd, O_NONBLOCK), 0);
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    const int fl = ::fcntl(p.a, F_GETFL);
    ASSERT_EQ(::fcntl(p.a, F_SETFL, fl | O_NONBLOCK), 0);
    int on = 1;
    ASSERT_EQ(::ioctl(p.b, FIONBIO, &on), 0);
    bool other_ran = false;
    auto other = grove::spawn([&] { other_ran = true; });
    char c;
    for (int fd : {p.a, p.b, pfd[0], sv[0]}) {
        errno = 0;
        EXPECT_EQ(::read(fd, &c, 1), -1) << fd;
        EXPECT_EQ(errno, EAGAIN) << fd;
        EXPECT_EQ(::recv(fd == pfd[0] ? p.a : fd, &c, 1, 0), -1);
        EXPECT_EQ(errno, EAGAIN);
    }
    EXPECT_FALSE(other_ran) << "a non-blocking call yielded";
    EXPECT_TRUE(::fcntl(p.a, F_GETFL) & O_NONBLOCK);
    other->join();
    for (int fd : {pfd[0], pfd[1], sv[0], sv[1]}) ::close(fd);
}

TEST_F(Hooks, RegularFileReadsPassStraightThrough) {
    char path[] = "/tmp/grove-hooks-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::unlink(path);
    ASSERT_EQ(::write(fd, "0123456789", 10), 10);
    ::lseek(fd, 0, SEEK_SET);
    bool other_ran = false;
    auto other = grove::spawn([&] { other_ran = true; });
    char buf[32];
    EXPECT_EQ(::read(fd, buf, sizeof buf), 10);
    EXPECT_EQ(::read(fd, buf, sizeof buf), 0);
    EXPECT_FALSE(other_ran);
    other->join();
    ::close(fd);
}

TEST_F(Hooks, PlainThreadCallsAreTheRealCalls) {
    Pair p;
    get_hub();  // this thread has a hub; the other one does not
    ssize_t n = 0;
    std::thread th([&] {
        char buf[8];
        n = ::read(p.a, buf, sizeof buf);  // really blocks that thread
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(0));
    ::usleep(20000);
    EXPECT_EQ(::write(p.b, "xy", 2), 2);
    th.join();
    EXPECT_EQ(n, 2);
}

TEST_F(Hooks, SoRcvTimeoGivesEagainAfterTheTimeout) {
    Pair p;
    timeval tv{0, 100000};
    ASSERT_EQ(::setsockopt(p.a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    int beats = 0;
    auto beat = grove::spawn([&] {
        for (int i = 0; i < 5; ++i, ++beats) grove::sleep(grove::Duration(0.01));
    });
    const auto start = std::chrono::steady_clock::now();
    char c;
    errno = 0;
    EXPECT_EQ(::read(p.a, &c, 1), -1);
    EXPECT_EQ(errno, EAGAIN);
    const double t = since(start);
    print_elapsed("read with SO_RCVTIMEO 100ms", t);
    EXPECT_GE(t, 0.095);
    EXPECT_LT(t, 1.0);
    EXPECT_EQ(beats, 5) << "the wait did not yield";
    beat->join();
}

TEST_F(Hooks, ChildSeesInheritedFdsBlocking) {
    Pair p;
    int pfd[2];
    ASSERT_EQ(::pipe(pfd), 0);
    auto r1 = grove::spawn([&] {
        char c;
        (void)::read(p.a, &c, 1);
    });
    auto r2 = grove::spawn([&] {
        char c;
        (void)::read(pfd[0], &c, 1);
    });
    grove::sleep(grove::Duration(0.01));  // both parked in cooperative reads
    const pid_t pid = ::fork();
    if (pid == 0) {
        const bool nb = (::fcntl(p.a, F_GETFL) & O_NONBLOCK) || (::fcntl(pfd[0], F_GETFL) & O_NONBLOCK);
        ::_exit(nb ? 1 : 0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "the child saw O_NONBLOCK on an inherited fd";
    EXPECT_EQ(::write(p.b, "x", 1), 1);
    EXPECT_EQ(::write(pfd[1], "x", 1), 1);
    joinall({r1, r2});
    ::close(pfd[0]);
    ::close(pfd[1]);
}

TEST_F(Hooks, ErrnoIsEachGreenletsOwn) {
    std::vector<Ref<GreenletBase>> gs;
    int bad = 0;
    for (int i = 0; i < 1000; ++i) {
        gs.push_back(grove::spawn([i, &bad] {
            int expect = 0;
            switch (i % 4) {
                case 0:
                    (void)::read(-1, nullptr, 0), expect = EBADF;
                    break;
                case 1:
                    (void)::socket(-5, SOCK_STREAM, 0), expect = EAFNOSUPPORT;
                    break;
                case 2:
                    (void)::fcntl(2, 12345), expect = EINVAL;
                    break;
                default:
                    (void)::send(2, "", 0, 0), expect = ENOTSOCK;
                    break;
            }
            const int before = errno;
            ::usleep(static_cast<useconds_t>(1000 + (i % 7) * 300));  // everyone else runs meanwhile
            if (before != expect || errno != expect) ++bad;
        }));
    }
    joinall(gs);
    EXPECT_EQ(bad, 0);
}

TEST_F(Hooks, CloseWakesWaitersWithEbadfAndReuseGetsNoStaleWakeup) {
    auto* p = new Pair;
    const int fd = p->a;
    int err = 0;
    ssize_t n = 0;
    auto waiter = grove::spawn([&] {
        char c;
        n = ::read(fd, &c, 1);
        err = errno;
    });
    grove::sleep(grove::Duration(0.01));
    const auto start = std::chrono::steady_clock::now();
    ::close(fd);
    p->a = -1;
    waiter->join();
    print_elapsed("close -> waiter woken", since(start));
    EXPECT_EQ(n, -1);
    EXPECT_EQ(err, EBADF);
    EXPECT_LT(since(start), 1.0);  // woken by the close, not by a later event
    Pair q;                        // takes the freed number
    EXPECT_EQ(q.a, fd);
    bool woke = false;
    auto reader = grove::spawn([&] {
        char c;
        woke = ::read(q.a, &c, 1) == 1;
    });
    ::send(p->b, "x", 1, MSG_NOSIGNAL);  // the old peer: must wake no one
    grove::sleep(grove::Duration(0.03));
    EXPECT_FALSE(woke);
    EXPECT_EQ(::write(q.b, "y", 1), 1);
    reader->join();
    EXPECT_TRUE(woke);
    delete p;
}

TEST_F(Hooks, PollAndSelectWaitCooperatively) {
    Pair p;
    int beats = 0;
    auto beat = grove::spawn([&] {
        for (int i = 0; i < 5; ++i, ++beats) grove::sleep(grove::Duration(0.01));
    });
    pollfd f{p.a, POLLIN, 0};
    EXPECT_EQ(::poll(&f, 1, 100), 0);
    EXPECT_EQ(beats, 5);
    auto writer = grove::spawn([&] {
        grove::sleep(grove::Duration(0.02));
        ::write(p.b, "z", 1);
    });
    EXPECT_EQ(::poll(&f, 1, -1), 1);
    EXPECT_TRUE(f.revents & POLLIN);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p.a, &r);
    timeval tv{1, 0};
    EXPECT_EQ(::select(p.a + 1, &r, nullptr, nullptr, &tv), 1);
    EXPECT_TRUE(FD_ISSET(p.a, &r));
    joinall({beat, writer});
}

}  // namespace
}  // namespace grove::test
