#include <cmath>
#include <stdexcept>
#include <string>

#include <grove/duration.hpp>

namespace grove::detail {

std::optional<Deadline> deadline_after(std::optional<Duration> timeout, const char* what) {
    if (!timeout) return std::nullopt;
    const double seconds = timeout->count();
    if (std::isnan(seconds)) throw std::invalid_argument(std::string("grove: ") + what + ": timeout is NaN");
    if (seconds <= 0) return Deadline::min();  // "do not wait": no clock read needed
    if (seconds > 3.0e9) return std::nullopt;  // ~100 years: forever
    return Clock::now() + std::chrono::duration_cast<Clock::duration>(*timeout);
}

}  // namespace grove::detail
