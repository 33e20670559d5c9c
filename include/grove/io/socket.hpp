// grove — Socket: a cooperative BSD socket (gevent.socket.socket).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <grove/duration.hpp>
#include <grove/exceptions.hpp>
#include <grove/io/address.hpp>

namespace grove {

/// What a Socket throws when its own timeout (settimeout) runs out (Python's
/// socket.timeout). A TimeoutError, so `catch (const TimeoutError&)` sees it;
/// catch SocketTimeout to tell it from a grove::Timeout guard's error.
class SocketTimeout : public TimeoutError {
public:
    /// `what` is the message (e.g. "grove::Socket::recv: timed out").
    explicit SocketTimeout(std::string what) : TimeoutError(0, std::move(what)) {}
};

/// A socket whose blocking calls block only the calling greenlet: TCP, UDP or
/// Unix, IPv4 or IPv6. Move-only; owns its fd and closes it on destruction.
///
/// The fd is kept in O_NONBLOCK mode for the Socket's whole life (the flag
/// belongs to the open file description, so every dup of the fd sees it too).
/// Each operation tries the system call first and waits for readiness only on
/// EAGAIN, so a ready socket costs exactly one system call.
///
/// Timeouts are per socket, with Python's semantics (settimeout):
///   - nullopt (the default): operations block (the greenlet) until done;
///   - a positive duration: each operation throws SocketTimeout after it (for
///     sendall, the whole call);
///   - zero or below: non-blocking; an operation that would block throws
///     std::system_error(EAGAIN) (EINPROGRESS for connect).
///
/// Every blocking member may switch; kill and grove::Timeout interrupt it at
/// its wait (no data is lost: a recv that was interrupted read nothing).
/// OS errors throw std::system_error(errno, std::system_category(),
/// "grove::Socket::<operation>"); a close() of the socket by another greenlet
/// while one waits on it throws EBADF in the waiter. Use a Socket from the
/// thread whose hub runs the greenlets that wait on it; called from the hub
/// (a libev callback) a call that would wait throws std::logic_error.
class Socket {
public:
    /// No socket (fileno() == -1).
    Socket() noexcept = default;
    /// socket(2) with SOCK_NONBLOCK | SOCK_CLOEXEC.
    explicit Socket(int family, int type = SOCK_STREAM, int protocol = 0);
    /// Takes ownership of `fd` and puts it in O_NONBLOCK mode.
    static Socket adopt(int fd);
    /// socketpair(2): two connected sockets (AF_UNIX by default).
    static std::pair<Socket, Socket> pair(int family = AF_UNIX, int type = SOCK_STREAM, int protocol = 0);

    /// Move-only: the moved-from Socket holds no fd.
    /// @{
    Socket(Socket&& other) noexcept;
    Socket& operator=(Socket&& other) noexcept;
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    /// @}

    /// close(); errors are ignored.
    ~Socket();

    /// The fd (-1 when closed or detached); is_open() and `bool`: fileno() >= 0.
    /// @{
    int fileno() const noexcept { return fd_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return is_open(); }
    /// @}

    /// Gives up ownership: returns the fd (still O_NONBLOCK) and leaves -1.
    int detach() noexcept;
    /// Wakes greenlets waiting on this socket (they get EBADF), then closes
    /// the fd. A no-op when already closed. Never switches.
    void close() noexcept;

    /// Python's settimeout (see the class comment): nullopt blocks, a positive duration
    /// throws SocketTimeout after it, zero or below is non-blocking.
    /// std::invalid_argument for NaN. gettimeout() returns it.
    /// @{
    void settimeout(std::optional<Duration> timeout);
    std::optional<Duration> gettimeout() const noexcept { return timeout_; }
    /// @}

    /// setblocking(true) = settimeout(nullopt); false = settimeout(0).
    void setblocking(bool blocking) { settimeout(blocking ? std::nullopt : std::optional<Duration>(Duration::zero())); }

    /// bind(2); std::system_error on failure. Never switches.
    void bind(const Address& address);
    /// listen(2) with `backlog`; std::system_error on failure. Never switches.
    void listen(int backlog = 128);
    /// Waits for a connection; the new socket is blocking (no timeout).
    /// Stores the peer in `*peer` when given.
    Socket accept(Address* peer = nullptr);
    /// Waits for the connection to complete; throws TimeoutError after the
    /// socket's timeout, std::system_error with the connect error otherwise.
    void connect(const Address& address);

    /// Receives up to `size` bytes into `buf`; 0 means the peer closed.
    std::size_t recv_into(void* buf, std::size_t size, int flags = 0);
    /// Receives up to `max` bytes; "" means the peer closed.
    std::string recv(std::size_t max, int flags = 0);
    /// Sends some of `data`; returns how much (at least 1 unless empty).
    /// @{
    std::size_t send(const void* data, std::size_t size, int flags = 0);
    std::size_t send(std::string_view data, int flags = 0) { return send(data.data(), data.size(), flags); }
    /// @}

    /// Sends all of `data`, waiting as often as needed. On TimeoutError, kill
    /// or error, an unknown prefix of `data` may have been sent.
    /// @{
    void sendall(const void* data, std::size_t size, int flags = 0);
    void sendall(std::string_view data, int flags = 0) { sendall(data.data(), data.size(), flags); }
    /// @}

    /// Datagram receive: the bytes and who sent them.
    /// @{
    std::size_t recvfrom_into(void* buf, std::size_t size, Address* from, int flags = 0);
    std::pair<std::string, Address> recvfrom(std::size_t max, int flags = 0);
    std::size_t sendto(const void* data, std::size_t size, const Address& to, int flags = 0);
    std::size_t sendto(std::string_view data, const Address& to, int flags = 0) {
        return sendto(data.data(), data.size(), to, flags);
    }
    /// @}

    /// shutdown(2): SHUT_RD, SHUT_WR or SHUT_RDWR. Never switches.
    void shutdown(int how);

    /// setsockopt(2)/getsockopt(2) with an int value; std::system_error on failure.
    /// set_reuseaddr/set_reuseport: SO_REUSEADDR/SO_REUSEPORT. Never switch.
    /// @{
    void setsockopt(int level, int option, int value);
    int getsockopt(int level, int option) const;
    void set_reuseaddr(bool on = true);
    void set_reuseport(bool on = true);
    /// @}

    /// TCP_NODELAY (TCP sockets only).
    void set_nodelay(bool on = true);

    /// The local / the peer's address (getsockname(2), getpeername(2));
    /// std::system_error on failure (ENOTCONN from getpeername when not connected).
    /// @{
    Address getsockname() const;
    Address getpeername() const;
    /// @}

    /// SO_DOMAIN / SO_TYPE of the socket.
    /// @{
    int family() const;
    int type() const;
    /// @}

private:
    explicit Socket(int fd, std::nullptr_t) noexcept : fd_(fd) {}
    /// Call, and on EAGAIN wait until `deadline` (default: from the timeout).
    template <class Call>
    std::size_t io(const char* what, int events, Call call, const std::optional<Deadline>* deadline = nullptr);

    int fd_ = -1;
    std::optional<Duration> timeout_;
};

}  // namespace grove
