// grove — the exceptions of the runtime.
//
// Cancellation (GreenletExit, TimeoutError) lives outside std::exception on
// purpose, like Python's BaseException: legacy code that says
// `catch (const std::exception&)` must not swallow a kill or a timeout.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace grove {

class Timeout;

/// The kill signal. Thrown inside a greenlet at its blocking point when it is
/// killed with the default exception. A greenlet that ends by GreenletExit
/// counts as successful, prints no report, and its get() returns an Outcome
/// that says so instead of throwing. Subclass it for custom kill reasons that
/// should keep those semantics.
class GreenletExit {
public:
    GreenletExit() = default;
    /// A kill reason carried as the message; what() returns it ("GreenletExit" by
    /// default).
    /// @{
    explicit GreenletExit(std::string what) : what_(std::move(what)) {}
    virtual ~GreenletExit() = default;
    virtual const char* what() const noexcept { return what_.c_str(); }
    /// @}

private:
    std::string what_ = "GreenletExit";
};

/// Thrown at the blocking point when a grove::Timeout expires, and by blocking
/// calls whose own `timeout` runs out where gevent raises (get(), with_timeout).
/// Calls whose gevent counterpart returns a flag (join, wait, acquire) return
/// false instead.
class TimeoutError {
public:
    TimeoutError() = default;
    /// `source_serial` is the raising guard's start serial (0: none); what() returns
    /// `what` ("timed out" by default).
    /// @{
    TimeoutError(std::uint64_t source_serial, std::string what) : source_(source_serial), what_(std::move(what)) {}
    virtual ~TimeoutError() = default;
    virtual const char* what() const noexcept { return what_.c_str(); }
    /// @}

    /// Whether `guard` raised this error (compares the guard's start serial, so
    /// a later Timeout that reuses the same address is never mistaken for it).
    bool from(const Timeout& guard) const noexcept;
    /// The raising guard's start serial (0: not raised by a Timeout). Lets
    /// grove-hooks hold a Timeout's error back and re-pend it as that guard's.
    std::uint64_t source_serial() const noexcept { return source_; }

private:
    std::uint64_t source_ = 0;
    std::string what_ = "timed out";
};

/// Thrown into a greenlet (the thread's main greenlet included) that blocks
/// when nothing can ever wake it. The message names every greenlet still
/// waiting and what it waits on.
class LoopExit : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Queue errors (gevent.queue.Empty / Full / ShutDown).
class QueueEmpty : public std::runtime_error {
public:
    QueueEmpty() : std::runtime_error("queue is empty") {}
    using std::runtime_error::runtime_error;
};
/// QueueFull: put() found no room in time (or at once without `block`).
class QueueFull : public std::runtime_error {
public:
    QueueFull() : std::runtime_error("queue is full") {}
    using std::runtime_error::runtime_error;
};
/// QueueShutDown: put() after shutdown(), or get() once shut down and drained.
class QueueShutDown : public std::runtime_error {
public:
    QueueShutDown() : std::runtime_error("queue is shut down") {}
    using std::runtime_error::runtime_error;
};

}  // namespace grove
