// grove-hooks — read, write, readv, writev.
//
// Sockets go through recv/send (recvmsg/sendmsg for the vectored calls) with
// MSG_DONTWAIT, tried first of all when the fd table knows the fd as a socket
// (try_socket_first): data ready costs the one syscall the plain call costs.
// Pipes and ttys use poll-then-call: a zero-timeout poll, then the real call,
// with no switch in between; writes go out in PIPE_BUF pieces, each of which a writable pipe
// takes without blocking (a blocking write longer than PIPE_BUF is not atomic
// either, so other writers may interleave the same way).
#include "io.hpp"

#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "real.hpp"

namespace grove::hooks {

Plan plan_for(int fd) noexcept {
    Plan p;
    if (!cooperative()) return p;
    p.info = fd_info(fd);
    const FdKind k = p.info.kind;
    p.cooperate = !p.info.nonblock && (k == FdKind::Socket || k == FdKind::Pipe || k == FdKind::Tty);
    return p;
}

Plan plan_for(int fd, Dir dir) noexcept {
    Plan p = plan_for(fd);
    if (p.cooperate && !(dir == Dir::Read ? p.info.readable : p.info.writable)) p.cooperate = false;
    return p;
}

bool ready_now(int fd, Dir dir) noexcept {
    pollfd p{fd, static_cast<short>(dir == Dir::Read ? POLLIN : POLLOUT), 0};
    const int saved = errno;
    const int r = real::poll(&p, 1, 0);
    errno = saved;
    return r != 0;  // ready, in error, or poll failed: let the real call say
}

std::size_t iov_total(const iovec* iov, int n) noexcept {
    std::size_t total = 0;
    for (int i = 0; i < n; ++i) total += iov[i].iov_len;
    return total;
}

std::vector<iovec> iov_slice(const iovec* iov, int n, std::size_t skip, std::size_t limit) {
    std::vector<iovec> out;
    for (int i = 0; i < n && limit > 0; ++i) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        const std::size_t len = std::min(iov[i].iov_len - skip, limit);
        out.push_back(iovec{static_cast<char*>(iov[i].iov_base) + skip, len});
        limit -= len;
        skip = 0;
    }
    return out;
}

namespace {

std::optional<Deadline> rcv_deadline(const FdInfo& i) { return deadline_in_us(i.rcvtimeo_us); }
std::optional<Deadline> snd_deadline(const FdInfo& i) { return deadline_in_us(i.sndtimeo_us); }

ssize_t pipe_write(int fd, const void* buf, std::size_t n) {
    return write_all(fd, n, std::nullopt, [&](std::size_t done) -> ssize_t {
        if (!ready_now(fd, Dir::Write)) return fail(EAGAIN);
        return real::write(fd, static_cast<const char*>(buf) + done, std::min<std::size_t>(n - done, PIPE_BUF));
    });
}

ssize_t iov_write(int fd, const FdInfo& info, const iovec* iov, int n) {
    const std::size_t total = iov_total(iov, n);
    const bool socket = info.kind == FdKind::Socket;
    auto attempt = [&](std::size_t done) -> ssize_t {
        if (!socket && !ready_now(fd, Dir::Write)) return fail(EAGAIN);
        std::vector<iovec> part = iov_slice(iov, n, done, socket ? total : PIPE_BUF);
        if (part.empty()) return real::writev(fd, iov, 0);
        if (!socket) return real::writev(fd, part.data(), static_cast<int>(part.size()));
        msghdr m{};
        m.msg_iov = part.data();
        m.msg_iovlen = part.size();
        return real::sendmsg(fd, &m, MSG_DONTWAIT);
    };
    if (socket && !info.stream) return retry(fd, Dir::Write, snd_deadline(info), [&] { return attempt(0); });
    return write_all(fd, total, socket ? snd_deadline(info) : std::nullopt, attempt);
}

}  // namespace
}  // namespace grove::hooks

using namespace grove::hooks;

extern "C" {

ssize_t read(int fd, void* buf, size_t n) {
    if (!cooperative()) return real::read(fd, buf, n);
    auto receive = [&] { return real::recv(fd, buf, n, MSG_DONTWAIT); };
    const ssize_t first = try_socket_first(fd, receive);
    if (first >= -1) return first;
    const Plan p = plan_for(fd, Dir::Read);
    if (first == kWouldBlock && p.info.kind == FdKind::Socket) {
        if (p.info.nonblock) return fail(EAGAIN);  // what the real read says now
        if (p.cooperate) return retry(fd, Dir::Read, rcv_deadline(p.info), receive, true);
    }
    if (!p.cooperate) return real::read(fd, buf, n);
    if (p.info.kind == FdKind::Socket) return retry(fd, Dir::Read, rcv_deadline(p.info), receive);
    return retry(fd, Dir::Read, std::nullopt,
                 [&]() -> ssize_t { return ready_now(fd, Dir::Read) ? real::read(fd, buf, n) : fail(EAGAIN); });
}

ssize_t write(int fd, const void* buf, size_t n) {
    if (!cooperative()) return real::write(fd, buf, n);
    auto attempt = [&](std::size_t done) {
        return real::send(fd, static_cast<const char*>(buf) + done, n - done, MSG_DONTWAIT);
    };
    auto whole = [&] { return attempt(0); };  // a datagram goes out whole or not at all
    const ssize_t first = try_socket_first(fd, whole);
    if (first == static_cast<ssize_t>(n) || first == -1) return first;
    // Not tried, no room, or part of a stream write went out.
    const Plan p = plan_for(fd, Dir::Write);
    if (const auto r = finish_send(fd, n, first, p, attempt)) return *r;
    if (!p.cooperate) return real::write(fd, buf, n);
    if (p.info.kind != FdKind::Socket) return pipe_write(fd, buf, n);
    if (!p.info.stream) return retry(fd, Dir::Write, snd_deadline(p.info), whole);
    return write_all(fd, n, snd_deadline(p.info), attempt);
}

ssize_t readv(int fd, const iovec* iov, int n) {
    if (!cooperative()) return real::readv(fd, iov, n);
    // recvmsg answers a count readv refuses with EMSGSIZE, not readv's EINVAL:
    // such a call goes to the real readv.
    const bool valid = n >= 0 && n <= IOV_MAX;
    auto receive = [&]() -> ssize_t {
        if (!valid) return real::readv(fd, iov, n);
        msghdr m{};
        m.msg_iov = const_cast<iovec*>(iov);
        m.msg_iovlen = static_cast<size_t>(n);
        return real::recvmsg(fd, &m, MSG_DONTWAIT);
    };
    const ssize_t first = valid ? try_socket_first(fd, receive) : kUntried;
    if (first >= -1) return first;
    const Plan p = plan_for(fd, Dir::Read);
    if (first == kWouldBlock && p.info.kind == FdKind::Socket) {
        if (p.info.nonblock) return fail(EAGAIN);  // what the real readv says now
        if (p.cooperate) return retry(fd, Dir::Read, rcv_deadline(p.info), receive, true);
    }
    if (!p.cooperate) return real::readv(fd, iov, n);
    if (p.info.kind == FdKind::Socket) return retry(fd, Dir::Read, rcv_deadline(p.info), receive);
    return retry(fd, Dir::Read, std::nullopt,
                 [&]() -> ssize_t { return ready_now(fd, Dir::Read) ? real::readv(fd, iov, n) : fail(EAGAIN); });
}

ssize_t writev(int fd, const iovec* iov, int n) {
    // A count or vector the kernel refuses: the real call says why (EINVAL, EFAULT).
    if (!cooperative() || n < 0 || n > IOV_MAX || (n > 0 && !iov)) return real::writev(fd, iov, n);
    const std::size_t total = iov_total(iov, n);
    auto attempt = [&](std::size_t done) -> ssize_t {  // on a socket: the bytes from `done` on
        std::vector<iovec> rest;
        msghdr m{};
        m.msg_iov = const_cast<iovec*>(iov);
        m.msg_iovlen = static_cast<size_t>(n);
        if (done) {
            rest = iov_slice(iov, n, done, total);
            m.msg_iov = rest.data();
            m.msg_iovlen = rest.size();
        }
        return real::sendmsg(fd, &m, MSG_DONTWAIT);
    };
    const ssize_t first = try_socket_first(fd, [&] { return attempt(0); });
    if (first == static_cast<ssize_t>(total) || first == -1) return first;
    // Not tried, no room, or part of a stream write went out.
    const Plan p = plan_for(fd, Dir::Write);
    if (const auto r = finish_send(fd, total, first, p, attempt)) return *r;
    if (!p.cooperate) return real::writev(fd, iov, n);
    return iov_write(fd, p.info, iov, n);
}

}  // extern "C"
