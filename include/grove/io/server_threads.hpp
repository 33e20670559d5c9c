// grove — ServerThreads: one hub per core, one StreamServer per hub, all on
// one port through SO_REUSEPORT.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include <grove/duration.hpp>
#include <grove/io/address.hpp>
#include <grove/io/server.hpp>
#include <grove/io/socket.hpp>

namespace grove {

/// `n` TCP listeners bound to the same `address` with SO_REUSEPORT (and
/// SO_REUSEADDR), listening with `backlog`. With port 0 the first one picks
/// the port and the others bind to it. Never switches. std::system_error.
std::vector<Socket> reuseport_listeners(const Address& address, std::size_t n, int backlog = 1024);

/// The multi-core model: `threads` OS threads, each with its own hub running
/// a StreamServer on its own SO_REUSEPORT listener for the same address; the
/// kernel spreads incoming connections over them. Handlers run in greenlets
/// of the thread that accepted the connection, and never migrate. The
/// handler object is copied once per thread.
///
/// start() and stop() block the calling OS thread (not just the greenlet):
/// call them from a thread whose other greenlets can afford the pause, e.g.
/// main() of a server program.
class ServerThreads {
public:
    /// Serves `handler` on `address` with `threads` threads, started by start().
    /// std::invalid_argument for zero threads. Never switches.
    ServerThreads(Address address, std::size_t threads, StreamServer::Handler handler);
    /// stop() if running.
    ~ServerThreads();
    ServerThreads(const ServerThreads&) = delete;
    ServerThreads& operator=(const ServerThreads&) = delete;

    /// Binds the listeners here (so errors surface here, and address() is
    /// known), starts the threads and returns once every one is serving.
    /// Throws std::system_error (bind) or whatever a thread's start() threw.
    void start();
    /// Asks every thread's server to stop(timeout) (through its hub's
    /// Hub::Remote), then joins the threads. Call it from any one thread (not
    /// from several at once); a second call is a no-op.
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
    StreamServer::Handler handler_;
    std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace grove
