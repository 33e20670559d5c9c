#include <cmath>
#include <stdexcept>
#include <string>

#include <grove/duration.hpp>

#include "clock.hpp"

namespace grove {

namespace detail {
[[gnu::tls_model("initial-exec")]] constinit thread_local DeterministicState t_deterministic;
}  // namespace detail

Deadline now() noexcept { return Deadline(std::chrono::nanoseconds(detail::clock_now_ns())); }

namespace detail {

std::optional<Deadline> deadline_after(std::optional<Duration> timeout, const char* what) {
    if (!timeout) return std::nullopt;
    const double seconds = timeout->count();
    if (std::isnan(seconds)) throw std::invalid_argument(std::string("grove: ") + what + ": timeout is NaN");
    if (seconds <= 0) return Deadline::min();  // "do not wait": no clock read needed
    if (seconds > 3.0e9) return std::nullopt;  // ~100 years: forever
    return now() + std::chrono::duration_cast<Clock::duration>(*timeout);
}

}  // namespace detail
}  // namespace grove
