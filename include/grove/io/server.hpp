// grove — StreamServer: a TCP/Unix server with a greenlet per connection
// (gevent.server.StreamServer).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include <grove/duration.hpp>
#include <grove/io/address.hpp>
#include <grove/io/socket.hpp>
#include <grove/spawner.hpp>

namespace grove {

/// Accepts connections in its own greenlet and runs `handler(socket, peer)`
/// in a new greenlet for each (through `spawner` when given: a grove::Pool
/// bounds concurrency — the acceptor then waits while the pool is full —, a
/// Group tracks membership). The connection is closed when the handler
/// returns or unwinds. An error escaping a handler is reported like any
/// greenlet's and does not affect the server.
///
/// Accept errors are survived: resource exhaustion (EMFILE, ENFILE, ENOBUFS,
/// ENOMEM) is logged on stderr and retried after a back-off (10 ms doubling
/// to 1 s); aborted connections are skipped silently.
///
/// Use it from one thread (the one whose hub runs it). For several cores run
/// one server per thread on SO_REUSEPORT listeners: see ServerThreads.
class StreamServer {
public:
    /// Called in a new greenlet for each connection: the connected socket (closed when
    /// the handler returns or unwinds) and the peer's address.
    using Handler = std::function<void(Socket&, const Address&)>;

    /// Binds `address` at start() (SO_REUSEADDR; SO_REUSEPORT if
    /// set_reuse_port(true)); port 0 picks a free port: see address().
    StreamServer(Address address, Handler handler, Spawner* spawner = nullptr);
    /// Serves on an already bound socket (listen() is called at start()).
    StreamServer(Socket listener, Handler handler, Spawner* spawner = nullptr);
    /// stop(0) if still serving: handlers are killed at once. May switch.
    ~StreamServer();
    StreamServer(const StreamServer&) = delete;
    StreamServer& operator=(const StreamServer&) = delete;

    /// Before start(): listen backlog (default 1024), SO_REUSEPORT (default off).
    /// @{
    void set_backlog(int backlog);
    void set_reuse_port(bool on);
    /// @}

    /// Binds/listens if needed and spawns the acceptor greenlet; returns at
    /// once (never switches). A second call is a no-op; after stop(),
    /// std::logic_error. Throws std::system_error if bind/listen fail.
    void start();
    /// start(), then blocks the calling greenlet until stop() is called (from
    /// another greenlet). If the caller is killed, it stops the server (with
    /// the default grace) before the kill propagates. Rethrows an unexpected
    /// acceptor error.
    void serve_forever();
    /// Stops accepting (closes the listener), waits up to `timeout` for
    /// running handlers to finish, then kills the rest (waiting at most 1 s
    /// more for them to unwind). May switch; call from a greenlet (a handler
    /// may stop its own server: it is not killed). Idempotent.
    void stop(std::optional<Duration> timeout = Duration{1});

    /// started(): start() was called. closed(): no listener is open (not bound
    /// yet, or stopped). Never switch.
    /// @{
    bool started() const noexcept;
    bool closed() const noexcept;
    /// @}

    /// The bound address (the real port after start() with port 0).
    Address address() const;
    /// Handlers currently alive.
    std::size_t connection_count() const noexcept;

private:
    struct State;
    static void accept_loop(std::shared_ptr<State> s);
    static void spawn_handler(const std::shared_ptr<State>& s, Socket client, const Address& peer);
    std::shared_ptr<State> state_;
};

}  // namespace grove
