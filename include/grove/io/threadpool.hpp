// grove — ThreadPool: run blocking work on OS threads, wait for it cooperatively.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

#include <grove/duration.hpp>

namespace grove {

/// A pool of OS threads (gevent.threadpool.ThreadPool). The calling greenlet
/// waits cooperatively while other greenlets keep running; the result or the
/// exception travels back through the hub's async watcher. A waiter that is
/// killed or timed out leaves; the job still finishes on its thread and its
/// result is dropped safely.
class ThreadPool {
public:
    /// `threads` workers, started lazily. std::invalid_argument for 0.
    explicit ThreadPool(std::size_t threads);
    /// Waits (blocking the OS thread) for running jobs, then joins the workers.
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    /// Runs `f()` on a worker; blocks the calling greenlet until it is done and
    /// returns its value or rethrows its exception. May switch.
    template <class F>
    auto apply(F&& f) -> std::invoke_result_t<F&>;

    /// Runs `job` on a worker; `done` is then called on the submitting hub's
    /// thread (from the hub: it must not block). Non-template core of apply().
    void submit(std::function<void()> job, std::function<void()> done);

    std::size_t size() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// This thread's default pool (size from GROVE_THREADPOOL_SIZE, default 10),
/// used by grove::resolve and the hooked getaddrinfo.
ThreadPool& get_threadpool();

}  // namespace grove
