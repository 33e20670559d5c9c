// grove internal — the one-hub-per-thread workers of ServerThreads and
// DatagramServerThreads: their SO_REUSEPORT sockets, each worker's thread
// (a server on its own thread's hub), starting and stopping them.
#pragma once

#include <cstdio>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <grove/duration.hpp>
#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/io/socket.hpp>

namespace grove::detail {

/// `n` sockets of `type` bound to `address` with SO_REUSEPORT, each passed to
/// `ready(socket)` right after its bind; with port 0, the first one's port
/// (the kernel's choice) is the one the others bind.
template <class Ready>
std::vector<Socket> reuseport_sockets(const Address& address, std::size_t n, int type, Ready&& ready) {
    std::vector<Socket> out;
    Address bound = address;
    for (std::size_t i = 0; i < n; ++i) {
        Socket s(address.family(), type);
        s.set_reuseaddr();
        s.set_reuseport();
        s.bind(bound);
        ready(s);
        if (i == 0) bound = s.getsockname();
        out.push_back(std::move(s));
    }
    return out;
}

/// One thread of a ServerThreads-like class: its socket and thread, and what
/// stop() needs from it. Written by start() before its thread runs, then by
/// its own thread only (server, stopper), except `remote`, which is
/// published through `ready` before start() returns and read by stop().
template <class Server>
struct ServerWorker {
    Socket socket;
    std::thread thread;
    std::promise<void> ready;
    std::shared_ptr<Hub::Remote> remote;  // set before `ready`
    Server* server = nullptr;             // the thread's own
    Ref<GreenletBase> stopper;            // the thread's own

    /// The thread's body. `make()` builds its server from `socket`; serve()
    /// starts it, publishes `remote` and `server`, serves until stopped and
    /// destroys the thread's hub. A failure before serving goes to start()
    /// through `ready`; one after is reported on stderr, naming `who`.
    template <class Make>
    void serve(const char* who, Make&& make) {
        try {
            Server own = make();
            own.start();
            server = &own;
            remote = get_hub().remote();
            ready.set_value();
            own.serve_forever();
            if (stopper) stopper->join();
        } catch (...) {
            try {
                ready.set_exception(std::current_exception());
            } catch (const std::future_error&) {  // already serving: report it
                std::fprintf(stderr, "grove: %s: a server thread failed\n", who);
            }
        }
        get_hub().destroy();
    }
};

/// Starts one thread per worker and waits until each runs its server; the
/// first failure is rethrown after `stop()` has ended the others.
template <class Worker, class Handler, class Stop>
void start_worker_threads(std::vector<std::unique_ptr<Worker>>& workers, const Handler& handler, Stop&& stop) {
    std::exception_ptr failed;
    for (auto& w : workers) w->thread = std::thread(&Worker::run, w.get(), handler);
    for (auto& w : workers) {
        try {
            w->ready.get_future().get();
        } catch (...) {
            failed = std::current_exception();
        }
    }
    if (failed) {
        stop();
        std::rethrow_exception(failed);
    }
}

/// Asks each worker's hub to stop its server (up to `timeout`), then joins
/// the threads and forgets the workers.
template <class Worker>
void stop_worker_threads(std::vector<std::unique_ptr<Worker>>& workers, std::optional<Duration> timeout) {
    for (auto& w : workers) {
        if (!w->remote) continue;  // that thread failed to start and is exiting
        Worker* worker = w.get();
        w->remote->post([worker, timeout] {
            worker->stopper = grove::spawn([worker, timeout] { worker->server->stop(timeout); });
        });
    }
    for (auto& w : workers)
        if (w->thread.joinable()) w->thread.join();
    workers.clear();
}

}  // namespace grove::detail
