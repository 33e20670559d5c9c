// grove — ThreadPool: run blocking work on OS threads, wait for it cooperatively.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <grove/duration.hpp>
#include <grove/greenlet.hpp>
#include <grove/waiter.hpp>

namespace grove {

/// A pool of OS threads (gevent.threadpool.ThreadPool). The calling greenlet
/// waits cooperatively while other greenlets keep running; the result or the
/// exception travels back through the hub's async watcher. A waiter that is
/// killed or timed out leaves; the job still finishes on its thread and its
/// result is dropped safely.
///
/// While a job is in flight its submitting hub holds a Hub::KeepAlive, so the
/// waiting greenlet never gets LoopExit. A pool may be shared by the greenlets
/// of several threads (each completion goes back to its own submitter's hub).
/// Jobs run on plain OS threads: they must not use the submitter's greenlets
/// or sockets.
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

    /// Runs apply(f) in a new greenlet and returns it: `get()` gives the value.
    /// Killing that greenlet abandons the job (its result is dropped). Never
    /// switches.
    template <class F>
    auto spawn(F f) -> Ref<Greenlet<std::invoke_result_t<F&>>>;

    /// Runs `f(item)` for every item of `items` concurrently on the pool;
    /// returns the results in input order; rethrows the first error (in input
    /// order) after every job has finished. May switch; a kill abandons the
    /// jobs still running.
    template <class F, class Range>
    auto map(F f, const Range& items);

    /// Runs `job` on a worker; `done` is then called on the submitting hub's
    /// thread (from the hub: it must not block). Non-template core of apply().
    /// Call it from a thread that has a hub (it creates one if needed). A
    /// `job` that throws is reported on stderr and `done` still runs. If the
    /// hub is destroyed first, `done` is dropped (destroyed on the worker).
    void submit(std::function<void()> job, std::function<void()> done);

    /// Waits until every job this thread submitted has finished and its
    /// result was delivered, or `timeout` passes; returns whether all did.
    /// May switch; kill and Timeout interrupt it (the jobs go on).
    bool join(std::optional<Duration> timeout = {});

    /// The most worker threads it runs (the size it was made with).
    std::size_t size() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

namespace detail {
/// What apply() shares with its job: outlives the waiting frame when the
/// waiter is killed or timed out (the job still writes into it).
template <class R>
struct ApplyState {
    Waiter* waiter = nullptr;  // null once the waiting frame left
    std::exception_ptr error;
    std::optional<R> value;
};
template <>
struct ApplyState<void> {
    Waiter* waiter = nullptr;
    std::exception_ptr error;
};
}  // namespace detail

template <class F>
auto ThreadPool::apply(F&& f) -> std::invoke_result_t<F&> {
    using R = std::invoke_result_t<F&>;
    static_assert(!std::is_reference_v<R>, "grove::ThreadPool::apply: return a value, not a reference");
    auto fn = std::make_shared<std::decay_t<F>>(std::forward<F>(f));
    auto state = std::make_shared<detail::ApplyState<R>>();
    // The hub wakes the Waiter when the job is done: a compact greenlet's is
    // on the heap, so that its stack can be copied out meanwhile.
    std::unique_ptr<Waiter> heap_waiter;
    std::optional<Waiter> local_waiter;
    if (running_compact()) [[unlikely]]
        heap_waiter = std::make_unique<Waiter>("ThreadPool::apply", this);
    else
        local_waiter.emplace("ThreadPool::apply", this);
    Waiter& waiter = heap_waiter ? *heap_waiter : *local_waiter;
    state->waiter = &waiter;
    struct Leave {
        detail::ApplyState<R>& s;
        ~Leave() { s.waiter = nullptr; }
    } leave{*state};
    submit(
        [fn, state] {
            try {
                if constexpr (std::is_void_v<R>)
                    (*fn)();
                else
                    state->value.emplace((*fn)());
            } catch (...) {
                state->error = std::current_exception();
            }
        },
        [state] {
            if (state->waiter) state->waiter->wake();
        });
    waiter.wait();
    if (state->error) std::rethrow_exception(state->error);
    if constexpr (!std::is_void_v<R>) return std::move(*state->value);
}

template <class F>
auto ThreadPool::spawn(F f) -> Ref<Greenlet<std::invoke_result_t<F&>>> {
    return grove::spawn([this, f = std::move(f)]() mutable { return apply(f); });
}

template <class F, class Range>
auto ThreadPool::map(F f, const Range& items) {
    using Item = decltype(*std::begin(items));
    using R = std::invoke_result_t<F&, Item>;
    std::vector<Ref<Greenlet<R>>> jobs;
    struct Abandon {
        std::vector<Ref<Greenlet<R>>>& jobs;
        ~Abandon() {
            for (auto& g : jobs)
                if (!g->dead()) g->kill({}, false);
        }
    } abandon{jobs};
    for (auto&& item : items) jobs.push_back(spawn([f, item]() mutable { return f(item); }));
    std::vector<Ref<GreenletBase>> all(jobs.begin(), jobs.end());
    joinall(all);
    if constexpr (std::is_void_v<R>) {
        for (auto& g : jobs) g->get();
    } else {
        std::vector<R> out;
        out.reserve(jobs.size());
        for (auto& g : jobs) out.push_back(std::move(g->get().value()));
        return out;
    }
}

/// This thread's default pool (size from GROVE_THREADPOOL_SIZE, default 10),
/// used by grove::resolve and the hooked getaddrinfo.
ThreadPool& get_threadpool();

}  // namespace grove
