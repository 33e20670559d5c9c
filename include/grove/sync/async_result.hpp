// grove — AsyncResult<T>: a value or an error, delivered once to any number
// of waiting greenlets, settable from another OS thread (gevent.event.AsyncResult).
#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#include <grove/duration.hpp>
#include <grove/exceptions.hpp>
#include <grove/hub.hpp>
#include <grove/wait.hpp>

namespace grove {

/// Tag: the AsyncResult will be set from another OS thread, so a greenlet
/// waiting on it keeps its hub alive (Hub::KeepAlive) instead of getting
/// LoopExit when nothing else is left to run.
struct CrossThread {
    explicit CrossThread() = default;
};
inline constexpr CrossThread cross_thread{};

/// The non-template part of AsyncResult<T>: readiness, the error, waiting,
/// and delivering the notification to the owning hub.
///
/// Write-once, unlike gevent: a second set()/set_exception() throws
/// std::logic_error, so a value, once read, never changes under a reader.
class AsyncResultBase : public Waitable {
public:
    AsyncResultBase(const AsyncResultBase&) = delete;
    AsyncResultBase& operator=(const AsyncResultBase&) = delete;

    /// Holds a value or an error. Any thread.
    bool ready() const noexcept override { return ready_.load(std::memory_order_acquire); }
    /// Holds a value. Any thread.
    bool successful() const noexcept { return ready() && !error_; }
    /// The error once ready; empty while pending and on success. Any thread.
    std::exception_ptr exception() const noexcept { return ready() ? error_ : nullptr; }

    /// Makes the result an error: get() rethrows `e` (empty: std::invalid_argument).
    /// Safe from any thread; see set().
    void set_exception(std::exception_ptr e);

    /// Blocks until ready or `timeout` passes; returns ready(). Never throws
    /// the stored error. May switch (greenlets of the owning thread only);
    /// kill() and grove::Timeout interrupt it, losing nothing (the wake-up is
    /// a broadcast). Throws LoopExit when nothing can ever set it (never for a
    /// `cross_thread` result: that waits for the other thread).
    bool wait(std::optional<Duration> timeout = {});

protected:
    /// Binds to the calling thread's hub (created if needed): waiters live there.
    explicit AsyncResultBase(bool cross_thread);
    ~AsyncResultBase() override;

    /// Stores under the lock with `store()`, then publishes. std::logic_error if already set.
    template <class F>
    void complete(F&& store, const char* call) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (ready_.load(std::memory_order_relaxed)) already_set(call);
            std::forward<F>(store)();
            ready_.store(true, std::memory_order_release);
        }
        publish();
    }
    /// Waits as get() does: returns when ready, throws TimeoutError if not
    /// ready in time (or at once without `block`), rethrows the stored error.
    void await_for_get(bool block, std::optional<Duration> timeout);

    std::exception_ptr error_;  ///< written once, before ready_ turns true

private:
    struct Anchor;
    [[noreturn]] static void already_set(const char* call);
    void publish();

    std::mutex mutex_;  // orders concurrent setters; readers use ready_
    std::atomic<bool> ready_{false};
    bool cross_thread_;
    std::thread::id owner_thread_;
    std::shared_ptr<Hub::Remote> remote_;
    std::shared_ptr<Anchor> anchor_;  // lets a posted notification find (or miss) this object
};

/// A value of type T, or an error, to be delivered later (a future that many
/// greenlets can wait on). Works with grove::wait / grove::iwait.
///
/// set()/set_exception() may be called from any thread, once. From the owning
/// thread they wake the waiters directly; from another thread they store the
/// outcome under a mutex and post the wake-up to the owning hub (libev async
/// watcher). The AsyncResult must outlive every such call.
///
/// By default a greenlet that waits when nothing else can ever run gets
/// LoopExit, as in gevent. Construct with `grove::cross_thread` when another
/// OS thread will set it: waits then keep the hub alive until it does.
template <class T>
class AsyncResult : public AsyncResultBase {
public:
    AsyncResult() : AsyncResultBase(false) {}
    /// For a result another OS thread sets (`grove::cross_thread`): waits keep the hub
    /// alive (no LoopExit) until it is set.
    explicit AsyncResult(CrossThread) : AsyncResultBase(true) {}

    /// Stores the value and wakes every waiter. Never switches. Any thread;
    /// std::logic_error if already set.
    void set(T value) {
        complete([&] { value_.emplace(std::move(value)); }, "set");
    }

    /// Waits for the outcome (see wait()); returns the value, valid as long as
    /// this object, or rethrows the stored error. Not ready in time, or not
    /// ready and `block` false: throws TimeoutError. Owning thread only.
    const T& get(bool block = true, std::optional<Duration> timeout = {}) {
        await_for_get(block, timeout);
        return *value_;
    }
    /// get(false).
    const T& get_nowait() { return get(false); }

private:
    std::optional<T> value_;
};

template <>
/// An outcome with no value: set() or set_exception(), to be waited on (see
/// AsyncResult<T> for the threading rules).
class AsyncResult<void> : public AsyncResultBase {
public:
    /// A result set from this thread; `AsyncResult(grove::cross_thread)` for one
    /// another OS thread sets (waits then keep the hub alive).
    /// @{
    AsyncResult() : AsyncResultBase(false) {}
    explicit AsyncResult(CrossThread) : AsyncResultBase(true) {}
    /// @}

    /// Marks it done and wakes every waiter. Never switches. Any thread;
    /// std::logic_error if already set.
    void set() {
        complete([] {}, "set");
    }
    /// Waits for the outcome, as AsyncResult<T>::get() does: rethrows the stored error,
    /// TimeoutError when not ready in time (get_nowait(): not ready now). Owning thread
    /// only.
    /// @{
    void get(bool block = true, std::optional<Duration> timeout = {}) { await_for_get(block, timeout); }
    void get_nowait() { get(false); }
    /// @}
};

}  // namespace grove
