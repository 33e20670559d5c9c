// Hooks: the socket fast path of read()/write() (and readv/writev, recvmsg/
// sendmsg, recv/send) — one MSG_DONTWAIT call made
// on the fd table's word alone, before any fstat (lib/hooks/io.hpp,
// try_socket_first) — gives what the real call gives in the cases where that
// word is wrong or the first call is not the whole answer.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
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

TEST_F(HookedSocketIo, VectoredCallsOnAFdNumberReusedBehindTheHooksBackUseWhatItIsNow) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT_EQ(::syscall(SYS_close, sv[0]), 0);
    ASSERT_EQ(::syscall(SYS_close, sv[1]), 0);
    int pfd[2];
    ASSERT_EQ(::syscall(SYS_pipe2, pfd, 0), 0);  // the table still says "socket" for both
    ASSERT_EQ(pfd[0], std::min(sv[0], sv[1]));
    char hi[] = "hi";
    iovec out{hi, 2};
    ssize_t wrote = 0;
    auto writer = grove::spawn([&] { wrote = ::writev(pfd[1], &out, 1); });  // runs once the reader waits
    char a[1], b[4];
    iovec in[2] = {{a, sizeof a}, {b, sizeof b}};
    const ssize_t n = ::readv(pfd[0], in, 2);
    writer->join();
    EXPECT_EQ(wrote, 2);
    ASSERT_EQ(n, 2) << "errno " << errno;
    EXPECT_EQ(a[0], 'h');
    EXPECT_EQ(b[0], 'i');
    msghdr m{};
    m.msg_iov = in;
    m.msg_iovlen = 1;
    errno = 0;
    EXPECT_EQ(::recvmsg(pfd[0], &m, 0), -1);  // what the kernel says of a pipe
    EXPECT_EQ(errno, ENOTSOCK);
    errno = 0;
    EXPECT_EQ(::sendmsg(pfd[1], &m, 0), -1);
    EXPECT_EQ(errno, ENOTSOCK);
    ::close(pfd[0]);
    ::close(pfd[1]);
}

TEST_F(HookedSocketIo, ABlockingWritevLargerThanTheSocketBufferSendsEveryByteOnceInOrder) {
    Pair p;
    const std::vector<char> out = pattern(3 << 19);
    // Three pieces, so that the kernel's partial writes end inside different ones.
    iovec pieces[3] = {{const_cast<char*>(out.data()), 1000},
                       {const_cast<char*>(out.data()) + 1000, (1 << 20) - 1000},
                       {const_cast<char*>(out.data()) + (1 << 20), out.size() - (1 << 20)}};
    std::vector<char> in;
    auto reader = grove::spawn([&] {
        char buf[16384];
        iovec one{buf, sizeof buf};
        ssize_t n;
        while ((n = ::readv(p.b, &one, 1)) > 0) in.insert(in.end(), buf, buf + n);
    });
    EXPECT_EQ(::writev(p.a, pieces, 3), static_cast<ssize_t>(out.size()));
    ::shutdown(p.a, SHUT_WR);
    reader->join();
    EXPECT_EQ(in.size(), out.size());
    EXPECT_TRUE(in == out);
}

TEST_F(HookedSocketIo, ALargeSendmsgCarriesItsFileDescriptorOnceWithTheFirstByte) {
    Pair p;
    const std::vector<char> out = pattern(1 << 20);
    int passed[2];
    ASSERT_EQ(::pipe(passed), 0);
    ssize_t sent = 0;
    auto sender = grove::spawn([&] {
        iovec piece{const_cast<char*>(out.data()), out.size()};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        msghdr m{};
        m.msg_iov = &piece;
        m.msg_iovlen = 1;
        m.msg_control = control;
        m.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &passed[1], sizeof(int));
        sent = ::sendmsg(p.a, &m, MSG_NOSIGNAL);  // more than the buffer: the rest goes without the fd
    });
    std::vector<char> in;
    int fds_received = 0;
    int received_fd = -1;
    while (in.size() < out.size()) {
        char buf[65536];
        iovec piece{buf, sizeof buf};
        alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
        msghdr m{};
        m.msg_iov = &piece;
        m.msg_iovlen = 1;
        m.msg_control = control;
        m.msg_controllen = sizeof control;
        const ssize_t n = ::recvmsg(p.b, &m, 0);
        ASSERT_GT(n, 0) << "errno " << errno;
        in.insert(in.end(), buf, buf + n);
        for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (std::size_t i = 0; i < count; ++i) {
                std::memcpy(&received_fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                ++fds_received;
                if (fds_received > 1) ::close(received_fd);
            }
        }
    }
    sender->join();
    EXPECT_EQ(sent, static_cast<ssize_t>(out.size()));
    EXPECT_TRUE(in == out);
    ASSERT_EQ(fds_received, 1) << "the file descriptor went with more than one piece";
    // It is the pipe's write end: what goes in comes out of passed[0].
    EXPECT_EQ(::write(received_fd, "x", 1), 1);
    char c = 0;
    EXPECT_EQ(::read(passed[0], &c, 1), 1);
    EXPECT_EQ(c, 'x');
    ::close(received_fd);
    ::close(passed[0]);
    ::close(passed[1]);
}

TEST_F(HookedSocketIo, ANonBlockingWritevReturnsWhatTheKernelTookThenEagainWithoutYielding) {
    Pair p;
    ASSERT_EQ(::fcntl(p.a, F_SETFL, ::fcntl(p.a, F_GETFL) | O_NONBLOCK), 0);
    bool other_ran = false;
    auto other = grove::spawn([&] { other_ran = true; });
    const std::vector<char> out = pattern(1 << 20);
    iovec pieces[2] = {{const_cast<char*>(out.data()), 10}, {const_cast<char*>(out.data()) + 10, out.size() - 10}};
    const ssize_t first = ::writev(p.a, pieces, 2);
    EXPECT_GT(first, 0);
    EXPECT_LT(first, static_cast<ssize_t>(out.size())) << "a non-blocking writev waited for room";
    ssize_t r;
    while ((r = ::writev(p.a, pieces, 2)) > 0) {
    }
    EXPECT_EQ(r, -1);
    EXPECT_EQ(errno, EAGAIN);
    msghdr m{};
    m.msg_iov = pieces;
    m.msg_iovlen = 2;
    errno = 0;
    EXPECT_EQ(::sendmsg(p.a, &m, 0), -1);
    EXPECT_EQ(errno, EAGAIN);
    char c;
    iovec one{&c, 1};
    errno = 0;
    EXPECT_EQ(::readv(p.a, &one, 1), -1);  // nothing to read either
    EXPECT_EQ(errno, EAGAIN);
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    errno = 0;
    EXPECT_EQ(::recvmsg(p.a, &m, 0), -1);
    EXPECT_EQ(errno, EAGAIN);
    EXPECT_FALSE(other_ran) << "a non-blocking call yielded";
    other->join();
}

TEST_F(HookedSocketIo, VectoredCallsWithDataReadyLeaveErrnoAlone) {
    Pair p;
    (void)get_hub();  // a thread without a hub gets the plain calls
    ASSERT_EQ(::write(p.b, "abcdef", 6), 6);
    errno = EINTR;  // whatever the caller had
    char x[2], y[8];
    iovec in[2] = {{x, sizeof x}, {y, 1}};
    EXPECT_EQ(::readv(p.a, in, 2), 3);
    EXPECT_EQ(errno, EINTR);
    msghdr m{};
    m.msg_iov = in;
    m.msg_iovlen = 2;
    EXPECT_EQ(::recvmsg(p.a, &m, 0), 3);
    EXPECT_EQ(errno, EINTR);
    EXPECT_EQ(std::string(x, 2) + y[0], "def");
    EXPECT_EQ(::writev(p.a, in, 2), 3);
    EXPECT_EQ(errno, EINTR);
    EXPECT_EQ(::sendmsg(p.a, &m, 0), 3);
    EXPECT_EQ(errno, EINTR);
}

TEST_F(HookedSocketIo, VectoredCallsWithTooManyPiecesOrNoVectorFailAsTheRealCallsDo) {
    Pair p;
    (void)get_hub();
    std::vector<iovec> many(IOV_MAX + 1, iovec{nullptr, 0});
    errno = 0;
    EXPECT_EQ(::readv(p.a, many.data(), static_cast<int>(many.size())), -1);
    EXPECT_EQ(errno, EINVAL);
    errno = 0;
    EXPECT_EQ(::writev(p.a, many.data(), static_cast<int>(many.size())), -1);
    EXPECT_EQ(errno, EINVAL);
    msghdr m{};
    m.msg_iov = many.data();
    m.msg_iovlen = many.size();
    errno = 0;
    EXPECT_EQ(::sendmsg(p.a, &m, 0), -1);
    EXPECT_EQ(errno, EMSGSIZE);
    // No vector at all: EFAULT, as from the kernel, not a crash in the hook.
    const iovec* volatile no_vector = nullptr;  // volatile: not a null the compiler rejects at build time
    errno = 0;
    EXPECT_EQ(::writev(p.a, no_vector, 2), -1);
    EXPECT_EQ(errno, EFAULT);
    m.msg_iov = nullptr;
    m.msg_iovlen = 2;
    errno = 0;
    EXPECT_EQ(::sendmsg(p.a, &m, 0), -1);
    EXPECT_EQ(errno, EFAULT);
}

}  // namespace
}  // namespace grove::test
