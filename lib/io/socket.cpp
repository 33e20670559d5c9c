// grove internal — Socket: non-blocking fd, try the call first, wait on EAGAIN.
//
// Every operation follows one shape (Socket::io): make the system call; on
// EAGAIN, fail at once in non-blocking mode, else wait for readiness until the
// operation's deadline (computed once per call) and retry. A ready socket so
// costs one system call and no watcher. The socket's watcher stays registered
// between waits (close always goes through notify_close), and a recv that
// follows a short one waits for readiness first: the buffer was drained, and
// the loop's poll, shared by every socket, is cheaper than a read that fails.
#include <grove/io/socket.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include <grove/exceptions.hpp>
#include <grove/greenlet.hpp>
#include <grove/io/wait.hpp>

#include "fd_wait.hpp"

namespace grove {
namespace {

[[noreturn]] void throw_errno(const char* what, int err = errno) {
    throw std::system_error(err, std::system_category(), std::string("grove::") + what);
}

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

// Stream sends never raise SIGPIPE: a closed peer is an EPIPE error instead.
constexpr int kSendFlags = MSG_NOSIGNAL;

}  // namespace

Socket::Socket(int family, int type, int protocol) {
    fd_ = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd_ < 0) throw_errno("Socket::socket");
}

Socket Socket::adopt(int fd) {
    if (fd < 0) throw std::invalid_argument("grove::Socket::adopt: negative fd");
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || (!(flags & O_NONBLOCK) && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0))
        throw_errno("Socket::adopt");
    return Socket(fd, nullptr);
}

std::pair<Socket, Socket> Socket::pair(int family, int type, int protocol) {
    int fds[2];
    if (::socketpair(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol, fds) < 0) throw_errno("Socket::pair");
    return {Socket(fds[0], nullptr), Socket(fds[1], nullptr)};
}

Socket::Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)), timeout_(other.timeout_) {}

Socket& Socket::operator=(Socket&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        timeout_ = other.timeout_;
    }
    return *this;
}

Socket::~Socket() { close(); }

int Socket::detach() noexcept {
    if (fd_ >= 0) detail::fd_release(fd_);
    return std::exchange(fd_, -1);
}

void Socket::close() noexcept {
    if (fd_ < 0) return;
    const int fd = std::exchange(fd_, -1);
    notify_close(fd);
    ::close(fd);  // even on EINTR the fd is gone on Linux: never retry
}

void Socket::settimeout(std::optional<Duration> timeout) {
    if (timeout && std::isnan(timeout->count())) throw std::invalid_argument("grove::Socket::settimeout: NaN");
    timeout_ = timeout;
}

template <class Call>
std::size_t Socket::io(const char* what, int events, Call call, const std::optional<Deadline>* deadline) {
    std::optional<Deadline> own;  // computed at the first EAGAIN: the fast path reads no clock
    for (;;) {
        const auto r = call();
        if (r >= 0) return static_cast<std::size_t>(r);
        const int err = errno;
        if (err == EINTR) continue;
        if (!would_block(err) || (timeout_ && timeout_->count() <= 0)) throw_errno(what, err);
        if (!deadline) {
            own = detail::deadline_after(timeout_, what);
            deadline = &own;
        }
        if (!detail::wait_fd(fd_, events, *deadline, what, true))
            throw SocketTimeout(fmt::format("grove::{}: timed out", what));
    }
}

void Socket::bind(const Address& address) {
    if (::bind(fd_, address.data(), address.size()) < 0) throw_errno("Socket::bind");
}

void Socket::listen(int backlog) {
    if (::listen(fd_, backlog) < 0) throw_errno("Socket::listen");
}

Socket Socket::accept(Address* peer) {
    Address addr;
    socklen_t len = Address::capacity();
    const auto fd = io("Socket::accept", detail::kFdRead, [&] {
        len = Address::capacity();
        return ::accept4(fd_, addr.mutable_data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    });
    addr.resize(len);
    if (peer) *peer = addr;
    return Socket(static_cast<int>(fd), nullptr);
}

void Socket::connect(const Address& address) {
    if (::connect(fd_, address.data(), address.size()) == 0) return;
    int err = errno;
    const bool nonblocking = timeout_ && timeout_->count() <= 0;
    if (err == EAGAIN && address.family() == AF_UNIX && !nonblocking) {
        // A Unix listener with a full backlog: no readiness to wait for, so
        // retry with a short back-off until the deadline.
        const auto deadline = detail::deadline_after(timeout_, "Socket::connect");
        Duration pause{0.001};
        while (err == EAGAIN) {
            if (deadline && *deadline <= grove::now()) throw SocketTimeout("grove::Socket::connect: timed out");
            grove::sleep(pause);
            pause = std::min(pause * 2, Duration{0.05});
            if (::connect(fd_, address.data(), address.size()) == 0) return;
            err = errno;
        }
    }
    if (err != EINPROGRESS && err != EINTR) throw_errno("Socket::connect", err);
    if (nonblocking) throw_errno("Socket::connect", err);
    if (!detail::wait_fd(fd_, detail::kFdWrite, detail::deadline_after(timeout_, "Socket::connect"), "Socket::connect",
                         true))
        throw SocketTimeout("grove::Socket::connect: timed out");
    if (const int so_error = getsockopt(SOL_SOCKET, SO_ERROR)) throw_errno("Socket::connect", so_error);
}

std::size_t Socket::recv_into(void* buf, std::size_t size, int flags) {
    const auto call = [&] { return ::recv(fd_, buf, size, flags); };
    std::size_t n;
    if (flags == 0 && size > 0 && !(timeout_ && timeout_->count() <= 0) && detail::fd_read_drained(fd_)) {
        // Wait first; a wait that times out still tries the read once, so a
        // timeout is only raised when the read would block.
        const auto deadline = detail::deadline_after(timeout_, "Socket::recv");
        (void)detail::wait_fd(fd_, detail::kFdRead, deadline, "Socket::recv", true);
        n = io("Socket::recv", detail::kFdRead, call, &deadline);
    } else {
        n = io("Socket::recv", detail::kFdRead, call);
    }
    if (flags == 0) detail::fd_note_read(fd_, n > 0 && n < size);
    return n;
}

std::string Socket::recv(std::size_t max, int flags) {
    std::string out(max, '\0');
    out.resize(recv_into(out.data(), max, flags));
    return out;
}

std::size_t Socket::send(const void* data, std::size_t size, int flags) {
    return io("Socket::send", detail::kFdWrite, [&] { return ::send(fd_, data, size, flags | kSendFlags); });
}

void Socket::sendall(const void* data, std::size_t size, int flags) {
    // One deadline for the whole call (Python >= 3.5), not one per send.
    const auto deadline = detail::deadline_after(timeout_, "Socket::sendall");
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        const std::size_t n = io(
            "Socket::sendall", detail::kFdWrite, [&] { return ::send(fd_, p, size, flags | kSendFlags); }, &deadline);
        p += n;
        size -= n;
    }
}

std::size_t Socket::recvfrom_into(void* buf, std::size_t size, Address* from, int flags) {
    Address addr;
    socklen_t len = Address::capacity();
    const std::size_t n = io("Socket::recvfrom", detail::kFdRead, [&] {
        len = Address::capacity();
        return ::recvfrom(fd_, buf, size, flags, addr.mutable_data(), &len);
    });
    addr.resize(len);
    if (from) *from = addr;
    return n;
}

std::pair<std::string, Address> Socket::recvfrom(std::size_t max, int flags) {
    std::pair<std::string, Address> out{std::string(max, '\0'), Address()};
    out.first.resize(recvfrom_into(out.first.data(), max, &out.second, flags));
    return out;
}

std::size_t Socket::sendto(const void* data, std::size_t size, const Address& to, int flags) {
    return io("Socket::sendto", detail::kFdWrite,
              [&] { return ::sendto(fd_, data, size, flags | kSendFlags, to.data(), to.size()); });
}

void Socket::shutdown(int how) {
    if (::shutdown(fd_, how) < 0) throw_errno("Socket::shutdown");
}

void Socket::setsockopt(int level, int option, int value) {
    if (::setsockopt(fd_, level, option, &value, sizeof value) < 0) throw_errno("Socket::setsockopt");
}

int Socket::getsockopt(int level, int option) const {
    int value = 0;
    socklen_t len = sizeof value;
    if (::getsockopt(fd_, level, option, &value, &len) < 0) throw_errno("Socket::getsockopt");
    return value;
}

void Socket::set_reuseaddr(bool on) { setsockopt(SOL_SOCKET, SO_REUSEADDR, on); }
void Socket::set_reuseport(bool on) { setsockopt(SOL_SOCKET, SO_REUSEPORT, on); }
void Socket::set_nodelay(bool on) { setsockopt(IPPROTO_TCP, TCP_NODELAY, on); }

Address Socket::getsockname() const {
    Address a;
    socklen_t len = Address::capacity();
    if (::getsockname(fd_, a.mutable_data(), &len) < 0) throw_errno("Socket::getsockname");
    a.resize(len);
    return a;
}

Address Socket::getpeername() const {
    Address a;
    socklen_t len = Address::capacity();
    if (::getpeername(fd_, a.mutable_data(), &len) < 0) throw_errno("Socket::getpeername");
    a.resize(len);
    return a;
}

int Socket::family() const { return getsockopt(SOL_SOCKET, SO_DOMAIN); }
int Socket::type() const { return getsockopt(SOL_SOCKET, SO_TYPE); }

}  // namespace grove
