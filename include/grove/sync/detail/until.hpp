// grove-sync internal — converting std-style absolute deadlines for timed calls.
#pragma once

#include <chrono>

#include <grove/duration.hpp>

namespace grove::detail {

/// The time left until `tp` on its own clock, as a grove timeout (zero or
/// below means "do not wait"), as try_lock_until and friends need.
template <class C, class D>
Duration until(const std::chrono::time_point<C, D>& tp) {
    return std::chrono::duration_cast<Duration>(tp - C::now());
}

}  // namespace grove::detail
