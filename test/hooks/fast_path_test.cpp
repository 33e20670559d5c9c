// Hooks: the socket fast path of read()/write() — one MSG_DONTWAIT call made
// on the fd table's word alone, before any fstat (lib/hooks/io.hpp,
// try_socket_first) — gives what the real call gives in the cases where that
// word is wrong or the first call is not the whole answer.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "hooks_support.hpp"

namespace grove::test {
namespace {

using HookedSocketIo = Hooked;

struct Pair {
    int a = -1, b = -1;
    Pair() {
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);  // recorded in the fd table as sockets
        a = sv[0];
        b = sv[1];
    }
    ~Pair() {
        if (a >= 0) ::close(a);
        if (b >= 0) ::close(b);
    }
};

std::vector<char> pattern(std::size_t n) {
    std::vector<char> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<char>(i * 7 % 251);
    return v;
}

TEST_F(HookedSocketIo, AFdNumberReusedBehindTheHooksBackIsUsedForWhatItIsNow) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    // Closed and reused as a pipe without the hooks seeing it (as libc's own
    // internal calls do): the table still says "socket" for both numbers.
    ASSERT_EQ(::syscall(SYS_close, sv[0]), 0);
    ASSERT_EQ(::syscall(SYS_close, sv[1]), 0);
    int pfd[2];
    ASSERT_EQ(::syscall(SYS_pipe2, pfd, 0), 0);
    ASSERT_EQ(pfd[0], std::min(sv[0], sv[1]));
    ASSERT_EQ(pfd[1], std::max(sv[0], sv[1]));
    char buf[8];
    errno = 0;
    EXPECT_EQ(::recv(pfd[0], buf, sizeof buf, 0), -1);  // what the kernel says of a pipe
    EXPECT_EQ(errno, ENOTSOCK);
    ssize_t wrote = 0;
    auto writer = grove::spawn([&] { wrote = ::write(pfd[1], "hi", 2); });  // runs once the reader waits
    const ssize_t n = ::read(pfd[0], buf, sizeof buf);
    writer->join();
    EXPECT_EQ(wrote, 2);
    ASSERT_EQ(n, 2) << "errno " << errno;
    EXPECT_EQ(std::string(buf, 2), "hi");
    ::close(pfd[0]);
    ::close(pfd[1]);
}

TEST_F(HookedSocketIo, ABlockingWriteLargerThanTheSocketBufferSendsEveryByteOnceInOrder) {
    Pair p;
    const std::vector<char> out = pattern(1 << 20);  // several socket buffers
    std::vector<char> in;
    auto reader = grove::spawn([&] {
        char buf[16384];
        ssize_t n;
        while ((n = ::read(p.b, buf, sizeof buf)) > 0) in.insert(in.end(), buf, buf + n);
    });
    EXPECT_EQ(::write(p.a, out.data(), out.size()), static_cast<ssize_t>(out.size()));
    ::shutdown(p.a, SHUT_WR);
    reader->join();
    EXPECT_EQ(in.size(), out.size());
    EXPECT_TRUE(in == out);
}

TEST_F(HookedSocketIo, ABlockingSendLargerThanTheSocketBufferArrivesWholeThroughRecvWaitall) {
    Pair p;
    const std::vector<char> out = pattern(1 << 20);
    ssize_t sent = 0;
    auto sender = grove::spawn([&] { sent = ::send(p.a, out.data(), out.size(), MSG_NOSIGNAL); });
    std::vector<char> in(out.size());
    EXPECT_EQ(::recv(p.b, in.data(), in.size(), MSG_WAITALL), static_cast<ssize_t>(out.size()));
    EXPECT_TRUE(in == out);
    grove::sleep();  // one yield: the sender returns (or, were it sending more, fills the buffer again)
    char c;
    errno = 0;
    EXPECT_EQ(::recv(p.b, &c, 1, MSG_DONTWAIT), -1) << "more bytes than were sent";
    EXPECT_EQ(errno, EAGAIN);
    ::shutdown(p.b, SHUT_RDWR);  // a sender still at it gets EPIPE rather than waiting forever
    sender->join();
    EXPECT_EQ(sent, static_cast<ssize_t>(out.size()));
}

TEST_F(HookedSocketIo, ANonBlockingWriteReturnsWhatTheKernelTookThenEagainWithoutYielding) {
    Pair p;
    ASSERT_EQ(::fcntl(p.a, F_SETFL, ::fcntl(p.a, F_GETFL) | O_NONBLOCK), 0);
    bool other_ran = false;
    auto other = grove::spawn([&] { other_ran = true; });
    const std::vector<char> out = pattern(1 << 20);
    const ssize_t first = ::write(p.a, out.data(), out.size());
    EXPECT_GT(first, 0);
    EXPECT_LT(first, static_cast<ssize_t>(out.size())) << "a non-blocking write waited for room";
    ssize_t r;
    while ((r = ::write(p.a, out.data(), out.size())) > 0) {
    }
    EXPECT_EQ(r, -1);
    EXPECT_EQ(errno, EAGAIN);
    errno = 0;
    EXPECT_EQ(::send(p.a, out.data(), out.size(), 0), -1);
    EXPECT_EQ(errno, EAGAIN);
    errno = 0;
    char c;
    EXPECT_EQ(::read(p.a, &c, 1), -1);  // nothing to read either
    EXPECT_EQ(errno, EAGAIN);
    errno = 0;
    EXPECT_EQ(::recv(p.a, &c, 1, 0), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_FALSE(other_ran) << "a non-blocking call yielded";
    other->join();
}

TEST_F(HookedSocketIo, AReadWithDataReadyLeavesErrnoAlone) {
    Pair p;
    (void)get_hub();  // a thread without a hub gets the plain calls
    ASSERT_EQ(::write(p.b, "abc", 3), 3);
    errno = EINTR;  // whatever the caller had
    char buf[8];
    EXPECT_EQ(::read(p.a, buf, sizeof buf), 3);
    EXPECT_EQ(errno, EINTR);
    EXPECT_EQ(::write(p.a, "de", 2), 2);
    EXPECT_EQ(errno, EINTR);
}

}  // namespace
}  // namespace grove::test
