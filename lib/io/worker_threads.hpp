// grove internal — starting and stopping the one-hub-per-thread workers of
// ServerThreads and DatagramServerThreads (each Worker owns a socket, runs a
// server on its own thread's hub, and fills in `remote` and `server` before
// it sets `ready`).
#pragma once

#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <grove/duration.hpp>
#include <grove/greenlet.hpp>

namespace grove::detail {

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
