// grove — DatagramServer: a UDP server with a greenlet per datagram
// (gevent.server.DatagramServer), and DatagramServerThreads, its one-hub-per-
// core form on SO_REUSEPORT sockets.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <grove/duration.hpp>
#include <grove/io/address.hpp>
#include <grove/io/socket.hpp>
#include <grove/spawner.hpp>

namespace grove {

/// Receives datagrams in its own greenlet and runs `handler(data, from)` in a
/// new greenlet for each (through `spawner` when given: a grove::Pool bounds
/// how many run at once — the receiver then waits while the pool is full, and
/// the kernel's receive buffer takes the excess, dropping what overflows it,
/// as UDP does). The handler replies with sendto(), through the server's own
/// socket, so the client sees the answer come from the address it wrote to:
///
///   grove::DatagramServer server(grove::Address::ip("::1", 9000),
///       [&](const std::string& data, const grove::Address& from) { server.sendto(data, from); });
///   server.serve_forever();
///
/// IPv4 and IPv6 (the address's family). An error escaping a handler is
/// reported like any greenlet's and does not affect the server; receive
/// errors from resource exhaustion (ENOMEM, ENOBUFS) are logged on stderr and
/// retried after a back-off (10 ms doubling to 1 s).
///
/// Use it from one thread (the one whose hub runs it). For several cores:
/// DatagramServerThreads.
class DatagramServer {
public:
    /// Called in its own greenlet for each datagram: its bytes and its sender. Reply
    /// with sendto().
    using Handler = std::function<void(const std::string& data, const Address& from)>;

    /// Binds `address` at start() (SO_REUSEADDR; SO_REUSEPORT if
    /// set_reuse_port(true)); port 0 picks a free port: see address().
    /// std::invalid_argument for an empty handler.
    DatagramServer(Address address, Handler handler, Spawner* spawner = nullptr);
    /// Serves on an already bound SOCK_DGRAM socket.
    DatagramServer(Socket socket, Handler handler, Spawner* spawner = nullptr);
    /// stop(0) if still serving: handlers are killed at once. May switch.
    ~DatagramServer();
    DatagramServer(const DatagramServer&) = delete;
    DatagramServer& operator=(const DatagramServer&) = delete;

    /// Before start(): SO_REUSEPORT (default off); the largest datagram
    /// received whole (default 65,535 bytes; longer ones are truncated by the
    /// kernel, as recvfrom does; std::invalid_argument for 0).
    /// @{
    void set_reuse_port(bool on);
    void set_max_datagram(std::size_t bytes);
    /// @}

    /// Binds if needed and spawns the receiver greenlet; returns at once
    /// (never switches). A second call is a no-op; after stop(),
    /// std::logic_error. Throws std::system_error if bind fails.
    void start();
    /// start(), then blocks the calling greenlet until stop() is called (from
    /// another greenlet). If the caller is killed, it stops the server (with
    /// the default grace) before the kill propagates. Rethrows an unexpected
    /// receive error.
    void serve_forever();
    /// Stops receiving (closes the socket), waits up to `timeout` for running
    /// handlers to finish, then kills the rest (waiting at most 1 s more for
    /// them to unwind). May switch; call it from a greenlet (a handler may
    /// stop its own server: it is not killed). Idempotent. Replies sent after
    /// stop() throw std::system_error(EBADF).
    void stop(std::optional<Duration> timeout = Duration{1});

    /// Sends one datagram to `to` from the server's socket; waits while the
    /// socket's send buffer is full. std::system_error (EBADF when not
    /// started or stopped, EMSGSIZE when too long...).
    std::size_t sendto(std::string_view data, const Address& to);

    /// started(): start() was called. closed(): no socket is open (not bound
    /// yet, or stopped). Never switch.
    /// @{
    bool started() const noexcept;
    bool closed() const noexcept;
    /// @}

    /// The bound address (the real port after start() with port 0).
    Address address() const;
    /// Handlers currently alive.
    std::size_t handler_count() const noexcept;

private:
    struct State;
    static void receive_loop(std::shared_ptr<State> s);
    static void spawn_handler(const std::shared_ptr<State>& s, std::string data, const Address& from);
    std::shared_ptr<State> state_;
};

/// `n` UDP sockets bound to the same `address` with SO_REUSEPORT (and
/// SO_REUSEADDR). With port 0 the first one picks the port and the others
/// bind to it. Never switches. std::system_error.
std::vector<Socket> reuseport_datagram_sockets(const Address& address, std::size_t n);

/// The multi-core model for UDP, as ServerThreads is for TCP: `threads` OS
/// threads, each with its own hub running a DatagramServer on its own
/// SO_REUSEPORT socket for the same address; the kernel spreads datagrams over
/// them by source address. A handler runs in a greenlet of the thread that
/// received its datagram and replies with the `DatagramServer&` it is given
/// (that thread's server). The handler object is copied once per thread.
///
/// start() and stop() block the calling OS thread (not just the greenlet).
class DatagramServerThreads {
public:
    /// Called in a greenlet of the receiving thread with that thread's server (for
    /// sendto()), the datagram and its sender.
    using Handler = std::function<void(DatagramServer& server, const std::string& data, const Address& from)>;

    /// Serves `handler` on `address` with `threads` threads, started by start().
    /// std::invalid_argument for zero threads or an empty handler. Never switches.
    DatagramServerThreads(Address address, std::size_t threads, Handler handler);
    /// stop() if running.
    ~DatagramServerThreads();
    DatagramServerThreads(const DatagramServerThreads&) = delete;
    DatagramServerThreads& operator=(const DatagramServerThreads&) = delete;

    /// Binds the sockets here (so errors surface here, and address() is
    /// known), starts the threads and returns once every one is serving.
    void start();
    /// Asks every thread's server to stop(timeout), then joins the threads.
    /// A second call is a no-op.
    void stop(std::optional<Duration> timeout = Duration{1});

    /// The bound address (the real port once started); the number of threads.
    /// @{
    Address address() const { return address_; }
    std::size_t size() const noexcept { return threads_; }
    /// @}

private:
    struct Worker;
    Address address_;
    std::size_t threads_;
    Handler handler_;
    std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace grove
