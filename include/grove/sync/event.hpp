// grove — Event: a flag that greenlets wait on until it is set (gevent.event.Event).
#pragma once

#include <optional>

#include <grove/duration.hpp>
#include <grove/wait.hpp>

namespace grove {

/// A boolean flag. set() wakes every greenlet waiting for it; while it stays
/// set, wait() returns at once. Works with grove::wait / grove::iwait.
///
/// Single-threaded: every member must be called on the thread whose hub the
/// waiters run on (use AsyncResult to signal from another OS thread).
class Event : public Waitable {
public:
    Event() = default;

    /// Sets the flag and wakes every waiter (they resume on later hub turns,
    /// in the order they started waiting). Never switches; callable from the
    /// hub (libev and link callbacks) too.
    void set() noexcept;
    /// Resets the flag. Greenlets already woken by an earlier set() still
    /// return true from wait(). Never switches.
    void clear() noexcept { flag_ = false; }
    /// Whether the flag is set (ready() says the same, for grove::wait). Never switches.
    bool is_set() const noexcept { return flag_; }
    bool ready() const noexcept override { return flag_; }

    /// Blocks until the flag is set or `timeout` passes. Returns true when the
    /// flag was set (at once if it already is, even if a later clear() came
    /// before this greenlet resumed), false on timeout.
    ///
    /// A wait() on an Event that is set but whose set() is still waking earlier
    /// waiters (woken, not yet resumed) returns true after those waiters have
    /// run, not ahead of them (gevent issue 1520); with a `timeout` of zero or
    /// below it returns true at once.
    ///
    /// May switch; greenlets only. kill() and grove::Timeout interrupt it by
    /// throwing at the wait; nothing is lost (a set() wakes every waiter, so a
    /// killed one takes no wake-up from the others). Throws LoopExit when
    /// nothing can ever set it, std::invalid_argument for a NaN timeout.
    bool wait(std::optional<Duration> timeout = {});

private:
    struct Node;
    bool flag_ = false;
    WaitList notifying_;  // Nodes of waiters set() woke that have not resumed yet
    WaitList late_;       // wait() calls made while notifying_ was not empty; woken when it empties
};

}  // namespace grove
