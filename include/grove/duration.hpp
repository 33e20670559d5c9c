// grove — time: durations, deadlines and the one rule for timeout parameters.
#pragma once

#include <chrono>
#include <optional>

namespace grove {

/// Seconds as a double, like gevent's timeouts. Any std::chrono duration
/// converts implicitly: `10ms`, `2s`, `Duration{0.25}`.
using Duration = std::chrono::duration<double>;

/// The clock every deadline in grove is measured on (CLOCK_MONOTONIC, the
/// same clock libev uses for its timers).
using Clock = std::chrono::steady_clock;

/// An absolute point on Clock. Timed calls convert their relative timeout
/// into a Deadline once, so a wait that is resumed early and parks again
/// does not stretch the total.
using Deadline = Clock::time_point;

/// grove's clock: Clock::now(), except in a thread running in deterministic
/// mode with a virtual clock (grove/deterministic.hpp), where time moves only
/// when the hub moves it. Every deadline grove computes is on this clock: a
/// program that compares deadlines should read it here too.
Deadline now() noexcept;

// Every timeout parameter in grove is `std::optional<Duration>`:
//  - empty            wait forever;
//  - zero or below    do not wait (poll once and report);
//  - NaN              rejected with std::invalid_argument (a bug, not a wish);
//  - huge values      (beyond ~100 years) mean forever.

namespace detail {
/// Validates a timeout parameter; throws std::invalid_argument naming `what`
/// for NaN. Returns the deadline, or nullopt for "forever".
std::optional<Deadline> deadline_after(std::optional<Duration> timeout, const char* what);
}  // namespace detail

}  // namespace grove
