// grove — Timeout: a deadline for an arbitrary section of cooperative code.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include <grove/duration.hpp>
#include <grove/exceptions.hpp>
#include <grove/waiter.hpp>

namespace grove {

class GreenletBase;
namespace detail {
/// Where a fired Timeout's error is (lib/core/interrupts.hpp).
enum class TimeoutDelivery : unsigned char { None, InSlot, Queued };
}  // namespace detail

/// RAII guard for the current greenlet (gevent.Timeout). When it expires, the
/// greenlet gets TimeoutError (or `e`) thrown at its current or next blocking
/// point. Destroying or cancelling it first means it never fires.
///
///   {
///       grove::Timeout t(2s);
///       auto line = sock.recv(100);   // throws TimeoutError after 2 s
///   }
///
/// Guards nest; the error says which fired (TimeoutError::from). Code that
/// never blocks is never interrupted. Create, start and cancel it in the
/// greenlet it guards.
class Timeout {
public:
    /// `seconds` empty: never fires. `seconds <= 0`: fires at the next
    /// blocking point. NaN: std::invalid_argument.
    explicit Timeout(std::optional<Duration> seconds, std::exception_ptr e = {}, bool start = true);
    ~Timeout();
    Timeout(const Timeout&) = delete;
    Timeout& operator=(const Timeout&) = delete;

    /// Arms the guard for the current greenlet (re-arms if already pending).
    /// Its seconds count from grove::now() read here (as gevent's start()
    /// updates the loop's time first), not from the hub's last look at the
    /// clock: it never fires early, however long the greenlet ran before.
    void start();
    /// Disarms it; a no-op if not pending. Never switches.
    void cancel() noexcept;
    /// Armed and not yet fired.
    bool pending() const noexcept { return pending_; }
    /// The duration it was made with (nullopt: it never fires).
    std::optional<Duration> seconds() const noexcept { return seconds_; }

private:
    friend class TimeoutError;
    friend struct detail::Runtime;
    std::optional<Duration> seconds_;
    std::exception_ptr exception_;
    GreenletBase* owner_ = nullptr;
    std::uint64_t serial_ = 0;
    bool pending_ = false;
    bool armed_ = false;
    detail::TimeoutDelivery delivery_ = detail::TimeoutDelivery::None;
    Timeout* queued_next_ = nullptr;  // fired, behind another interrupt of its greenlet
    detail::TimerSlot timer_;
};

/// Runs `f(args...)` under a Timeout of `d`; throws TimeoutError if it fires.
template <class F, class... Args>
auto with_timeout(Duration d, F&& f, Args&&... args) {
    Timeout guard(d);
    return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
}

/// Like with_timeout(), but returns `fallback` when this guard fires (errors
/// from other guards pass through).
template <class R, class F, class... Args>
R with_timeout_or(Duration d, R fallback, F&& f, Args&&... args) {
    Timeout guard(d);
    try {
        return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
    } catch (const TimeoutError& e) {
        if (!e.from(guard)) throw;
        return fallback;
    }
}

}  // namespace grove
