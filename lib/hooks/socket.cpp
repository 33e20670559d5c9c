// grove-hooks — the socket calls: recv*, send*, connect, accept*, socket,
// socketpair, setsockopt/getsockopt.
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include "io.hpp"
#include "real.hpp"

namespace grove::hooks {
namespace {

std::optional<Deadline> rcv_deadline(const FdInfo& i) { return deadline_in_us(i.rcvtimeo_us); }
std::optional<Deadline> snd_deadline(const FdInfo& i) { return deadline_in_us(i.sndtimeo_us); }

/// recv/recvfrom. MSG_WAITALL on a stream socket keeps reading until `n`
/// bytes, end of stream, an error or the timeout, as the kernel does.
/// `wait_first`: the fast path's try just said EAGAIN.
ssize_t receive(int fd, const FdInfo& info, void* buf, size_t n, int flags, sockaddr* a, socklen_t* l,
                bool wait_first) {
    const auto deadline = rcv_deadline(info);
    auto once = [&](std::size_t done) {
        return retry(
            fd, Dir::Read, deadline,
            [&] { return real::recvfrom(fd, static_cast<char*>(buf) + done, n - done, flags | MSG_DONTWAIT, a, l); },
            wait_first && done == 0);
    };
    if (!(flags & MSG_WAITALL) || !info.stream || (flags & MSG_PEEK)) return once(0);
    std::size_t done = 0;
    while (done < n) {
        const ssize_t r = once(done);
        if (r <= 0) return done ? static_cast<ssize_t>(done) : r;
        done += static_cast<std::size_t>(r);
    }
    return static_cast<ssize_t>(done);
}

/// recv/recvfrom when cooperative(): the fast path first (try_socket_first),
/// except for MSG_WAITALL, whose first piece need not be the whole answer.
ssize_t receive_from(int fd, void* buf, size_t n, int flags, sockaddr* a, socklen_t* l) {
    const ssize_t first = (flags & MSG_WAITALL) ? kUntried : try_socket_first(fd, [&] {
        return real::recvfrom(fd, buf, n, flags | MSG_DONTWAIT, a, l);
    });
    if (first >= -1) return first;
    const Plan p = plan_for(fd);
    if (first == kWouldBlock && p.info.kind == FdKind::Socket && p.info.nonblock) return fail(EAGAIN);
    if (!p.cooperate) return real::recvfrom(fd, buf, n, flags, a, l);
    return receive(fd, p.info, buf, n, flags, a, l, first == kWouldBlock && p.info.kind == FdKind::Socket);
}

/// send/sendto: everything on a stream socket, one datagram otherwise.
ssize_t transmit(int fd, const FdInfo& info, const void* buf, size_t n, int flags, const sockaddr* a, socklen_t l) {
    auto attempt = [&](std::size_t done) {
        return real::sendto(fd, static_cast<const char*>(buf) + done, n - done, flags | MSG_DONTWAIT, a, l);
    };
    if (!info.stream) return retry(fd, Dir::Write, snd_deadline(info), [&] { return attempt(0); });
    return write_all(fd, n, snd_deadline(info), attempt);
}

/// send/sendto when cooperative(): the fast path first, then transmit().
ssize_t send_to(int fd, const void* buf, size_t n, int flags, const sockaddr* a, socklen_t l) {
    auto attempt = [&](std::size_t done) {
        return real::sendto(fd, static_cast<const char*>(buf) + done, n - done, flags | MSG_DONTWAIT, a, l);
    };
    const ssize_t first = try_socket_first(fd, [&] { return attempt(0); });
    if (first == static_cast<ssize_t>(n) || first == -1) return first;
    const Plan p = plan_for(fd);
    if (const auto r = finish_send(fd, n, first, p, attempt)) return *r;
    if (!p.cooperate) return real::sendto(fd, buf, n, flags, a, l);
    return transmit(fd, p.info, buf, n, flags, a, l);
}

/// Flips O_NONBLOCK on for the connect() syscall only; restored before any
/// switch (see monkey.hpp). Returns connect()'s result and errno.
int connect_nonblocking(int fd, const sockaddr* a, socklen_t l) {
    const int fl = real::fcntl(fd, F_GETFL, 0);
    if (fl < 0) return -1;
    real::fcntl(fd, F_SETFL, static_cast<unsigned long>(fl | O_NONBLOCK));
    const int r = real::connect(fd, a, l);
    const int err = errno;
    real::fcntl(fd, F_SETFL, static_cast<unsigned long>(fl));
    errno = err;
    return r;
}

int accept_cooperatively(int fd, sockaddr* a, socklen_t* l, int flags) {
    const Plan p = plan_for(fd);
    if (!p.cooperate || p.info.kind != FdKind::Socket) return real::accept4(fd, a, l, flags);
    return retry(fd, Dir::Read, rcv_deadline(p.info),
                 [&]() -> int { return ready_now(fd, Dir::Read) ? real::accept4(fd, a, l, flags) : fail(EAGAIN); });
}

}  // namespace
}  // namespace grove::hooks

using namespace grove::hooks;

extern "C" {

ssize_t recv(int fd, void* buf, size_t n, int flags) {
    if ((flags & MSG_DONTWAIT) || !cooperative()) return real::recv(fd, buf, n, flags);
    return receive_from(fd, buf, n, flags, nullptr, nullptr);
}

ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* a, socklen_t* l) {
    if ((flags & MSG_DONTWAIT) || !cooperative()) return real::recvfrom(fd, buf, n, flags, a, l);
    return receive_from(fd, buf, n, flags, a, l);
}

ssize_t recvmsg(int fd, msghdr* m, int flags) {
    if ((flags & MSG_DONTWAIT) || !cooperative()) return real::recvmsg(fd, m, flags);
    auto receive = [&] { return real::recvmsg(fd, m, flags | MSG_DONTWAIT); };
    // As recv: MSG_WAITALL's first piece need not be the whole answer.
    const ssize_t first = (flags & MSG_WAITALL) ? kUntried : try_socket_first(fd, receive);
    if (first >= -1) return first;
    const Plan p = plan_for(fd);
    const bool socket = p.info.kind == FdKind::Socket;
    if (first == kWouldBlock && socket && p.info.nonblock) return fail(EAGAIN);
    if (!p.cooperate || !socket) return real::recvmsg(fd, m, flags);
    return retry(fd, Dir::Read, rcv_deadline(p.info), receive, first == kWouldBlock);
}

ssize_t send(int fd, const void* buf, size_t n, int flags) {
    if ((flags & MSG_DONTWAIT) || !cooperative()) return real::send(fd, buf, n, flags);
    return send_to(fd, buf, n, flags, nullptr, 0);
}

ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* a, socklen_t l) {
    if ((flags & MSG_DONTWAIT) || !cooperative()) return real::sendto(fd, buf, n, flags, a, l);
    return send_to(fd, buf, n, flags, a, l);
}

ssize_t sendmsg(int fd, const msghdr* m, int flags) {
    // No message, no vector, or more pieces than the kernel takes: the real call says why.
    if ((flags & MSG_DONTWAIT) || !cooperative() || !m || m->msg_iovlen > IOV_MAX || (m->msg_iovlen && !m->msg_iov))
        return real::sendmsg(fd, m, flags);
    const int pieces = static_cast<int>(m->msg_iovlen);
    const std::size_t total = iov_total(m->msg_iov, pieces);
    auto attempt = [&](std::size_t done) {
        if (!done) return real::sendmsg(fd, m, flags | MSG_DONTWAIT);
        msghdr part = *m;
        std::vector<iovec> rest = iov_slice(m->msg_iov, pieces, done, SIZE_MAX);
        part.msg_iov = rest.data();
        part.msg_iovlen = rest.size();
        part.msg_control = nullptr, part.msg_controllen = 0;  // ancillary data went with byte 0
        return real::sendmsg(fd, &part, flags | MSG_DONTWAIT);
    };
    const ssize_t first = try_socket_first(fd, [&] { return attempt(0); });
    if (first == static_cast<ssize_t>(total) || first == -1) return first;
    const Plan p = plan_for(fd);
    if (const auto r = finish_send(fd, total, first, p, attempt)) return *r;
    if (!p.cooperate || p.info.kind != FdKind::Socket) return real::sendmsg(fd, m, flags);
    if (!p.info.stream) return retry(fd, Dir::Write, snd_deadline(p.info), [&] { return attempt(0); });
    return write_all(fd, total, snd_deadline(p.info), attempt);
}

int connect(int fd, const sockaddr* a, socklen_t l) {
    const Plan p = plan_for(fd);
    if (!p.cooperate || p.info.kind != FdKind::Socket) return real::connect(fd, a, l);
    if (connect_nonblocking(fd, a, l) == 0) return 0;
    if (errno != EINPROGRESS) return -1;
    const auto deadline = snd_deadline(p.info);
    do {  // wait_fd returns 0 to resume after an SA_RESTART handler, too
        if (const int err = wait_fd(fd, Dir::Write, deadline)) return fail(err == EAGAIN ? EINPROGRESS : err);
    } while (!ready_now(fd, Dir::Write));
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (real::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) return -1;
    return so_error ? fail(so_error) : 0;
}

int accept(int fd, sockaddr* a, socklen_t* l) { return accept_cooperatively(fd, a, l, 0); }

int accept4(int fd, sockaddr* a, socklen_t* l, int flags) { return accept_cooperatively(fd, a, l, flags); }

int setsockopt(int fd, int level, int option, const void* value, socklen_t len) noexcept {
    const int r = real::setsockopt(fd, level, option, value, len);
    if (r == 0 && level == SOL_SOCKET && (option == SO_RCVTIMEO || option == SO_SNDTIMEO)) fd_table_changed();
    return r;
}

}  // extern "C"
