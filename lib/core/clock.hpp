// grove internal — grove's clock and this thread's deterministic mode.
//
// grove::now() is Clock::now() unless the thread runs in deterministic mode
// with a virtual clock; then it is `virtual_now_ns`, which only the hub moves
// (lib/core/hub.cpp: a jump to the earliest timer when every greenlet waits on
// time, or the real time it spent blocked on something else).
#pragma once

#include "internal.hpp"

#include <cstdint>
#include <ctime>

#include <grove/duration.hpp>

namespace grove::detail {

struct DeterministicState {
    bool virtual_clock = false;
    bool seeded_order = false;
    std::int64_t virtual_now_ns = 0;
    std::uint64_t rng = 0;  // splitmix64 state (seeded_order)
};

// constinit: no dynamic initializer, so every read is a plain %fs-relative load
// (no call to a TLS init function first).
[[gnu::tls_model("initial-exec")]] extern constinit thread_local DeterministicState t_deterministic;

/// Clock::now() in nanoseconds. libstdc++'s steady_clock is CLOCK_MONOTONIC;
/// asking for it here skips a call into libstdc++ on every timer armed.
inline std::int64_t real_now_ns() noexcept {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

/// grove::now() in nanoseconds.
inline std::int64_t clock_now_ns() noexcept {
    return t_deterministic.virtual_clock ? t_deterministic.virtual_now_ns : real_now_ns();
}

inline std::int64_t to_ns(Deadline d) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(d.time_since_epoch()).count();
}

/// The next number of the seeded run order (splitmix64).
inline std::uint64_t next_random() noexcept {
    std::uint64_t z = (t_deterministic.rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

}  // namespace grove::detail
