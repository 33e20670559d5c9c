// grove — Semaphore, BoundedSemaphore, DummySemaphore (gevent.lock).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include <grove/duration.hpp>
#include <grove/sync/detail/std_lockable.hpp>
#include <grove/waiter.hpp>

namespace grove {

/// A counter of permits. acquire() takes one, waiting while none is left;
/// release() gives one back.
///
/// Fair: waiters are served in FIFO order. A release() while greenlets wait
/// hands its permit straight to the first of them, so a greenlet that calls
/// acquire() later cannot barge in ahead. If that waiter is killed or its
/// grove::Timeout fires before it resumes, the permit passes on to the next
/// waiter (or back to the counter): no permit is ever lost.
///
/// Meets the std Lockable / TimedLockable requirements, so std::lock_guard,
/// std::unique_lock and std::scoped_lock work with it. Single-threaded: all
/// members on the thread of the waiting greenlets' hub.
class Semaphore : public detail::StdLockable<Semaphore> {
public:
    /// `value` permits; std::invalid_argument if negative.
    explicit Semaphore(int value = 1);
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;
    ~Semaphore() = default;

    /// Takes a permit. Without `block`, or with a `timeout` of zero or below,
    /// it does not wait. Returns false when no permit came in time.
    ///
    /// May switch (greenlets only; std::logic_error on the hub). kill() and
    /// grove::Timeout interrupt the wait by throwing there; a permit already
    /// handed over is then passed on. Throws LoopExit when nothing can ever
    /// release, std::invalid_argument for a NaN timeout.
    bool acquire(bool block = true, std::optional<Duration> timeout = {});

    /// Returns a permit: hands it to the first waiter (which resumes on a
    /// later hub turn) or adds it to the counter. Never switches; callable
    /// from the hub. A BoundedSemaphore throws std::logic_error when this
    /// would exceed its initial value.
    void release();

    /// Blocks until a permit is available, without taking it; returns
    /// whether one is (false on timeout). May switch; kill/Timeout interrupt.
    bool wait(std::optional<Duration> timeout = {});

    /// No permit left: acquire() would block.
    bool locked() const noexcept { return counter_ == 0; }
    /// Permits available now (gevent's `counter`).
    int counter() const noexcept { return counter_; }
    /// Greenlets waiting in acquire().
    std::size_t waiting() const noexcept { return acquirers_.size(); }

protected:
    /// For BoundedSemaphore: `bounded` makes release() beyond `value` a
    /// std::logic_error. std::invalid_argument for a negative `value`.
    Semaphore(int value, bool bounded);

private:
    void give() noexcept;

    int counter_;
    int bound_;  // the initial value; checked only when bounded_
    bool bounded_ = false;
    WaitList acquirers_;  // greenlets in acquire(); woken only by give(), each with one permit
    WaitList watchers_;   // greenlets in wait(); all woken when counter_ turns positive
};

/// A Semaphore whose release() throws std::logic_error when the counter
/// would exceed the initial value (a release without a matching acquire).
class BoundedSemaphore : public Semaphore {
public:
    /// `value` permits, and at most `value`: see the class comment.
    /// std::invalid_argument if negative.
    explicit BoundedSemaphore(int value = 1) : Semaphore(value, true) {}
};

/// A Semaphore that never blocks and never runs out (gevent's
/// DummySemaphore): stands in where a lock is optional. Never switches.
class DummySemaphore {
public:
    /// The Semaphore interface, std-shaped locking included: every acquire, wait and
    /// try_lock succeeds at once, release and unlock do nothing, locked() is false.
    /// @{
    explicit DummySemaphore(int = 1) noexcept {}
    bool acquire(bool = true, std::optional<Duration> = {}) noexcept { return true; }
    void release() noexcept {}
    bool wait(std::optional<Duration> = {}) noexcept { return true; }
    bool locked() const noexcept { return false; }
    void lock() noexcept {}
    void unlock() noexcept {}
    bool try_lock() noexcept { return true; }
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period>&) noexcept {
        return true;
    }
    template <class C, class D>
    bool try_lock_until(const std::chrono::time_point<C, D>&) noexcept {
        return true;
    }
    /// @}
};

}  // namespace grove
