// grove — deterministic mode, for tests: a virtual clock and a seeded run order.
//
//   TEST(Retry, GivesUpAfterAnHour) {
//       grove::Deterministic mode({.seed = 42});
//       auto t0 = grove::now();
//       EXPECT_THROW(retry_for(1h), GaveUp);       // runs in milliseconds
//       EXPECT_EQ(grove::now() - t0, 1h);         // exactly, every run
//   }
//
// Virtual clock: grove::now() stops following the wall. When every greenlet
// of the thread waits on time (sleep, a timeout, start_later) and nothing else
// can wake one, the hub jumps the clock to the earliest deadline instead of
// sleeping until it; timers due at the same instant fire in the order they were
// armed. While the hub is blocked on something that is not time (a socket fed
// by another process, a ThreadPool job, another thread), the clock advances by
// the real time that passes, so such waits still time out. Data that
// greenlets of the same hub send each other (a loopback socket, a pipe) is
// already there when the hub looks, and never lets time jump past it.
//
// Seeded run order: instead of first-come first-served, the hub picks each
// next greenlet to run among those ready with a generator seeded by `seed`.
// Every interleaving a test meets is the seed's: a race that fails with seed
// 42 fails again with seed 42 (as long as nothing from outside the thread —
// another process, another thread, the real clock — decides who runs first).
//
// What the mode cannot speed up: a greenlet that waits for time to pass by
// spinning on sleep(0) sees a frozen clock (it never waits on time), and
// std::chrono::steady_clock / plain ::time() keep telling real time — read
// grove::now() instead.
#pragma once

#include <cstdint>
#include <optional>

#include <grove/duration.hpp>

namespace grove {

/// What a Deterministic scope turns on (see the file comment): the virtual clock, the
/// seeded run order, or both.
struct DeterministicOptions {
    /// Time moves as described above instead of with the wall.
    bool virtual_clock = true;
    /// Seeds the run order; empty keeps gevent's FIFO order.
    std::optional<std::uint64_t> seed;
};

/// The calling thread runs in deterministic mode for this object's lifetime
/// (its hub, and any hub it creates meanwhile). Modes nest: the destructor
/// restores the previous one. Leaving a virtual clock moves timers still armed
/// back to real time with what they had left. Construct and destroy it on the
/// thread's main greenlet: constructing it in a greenlet throws
/// std::logic_error, destroying it there aborts with a message.
class Deterministic {
public:
    /// Enters the mode with `options` on the calling thread (its main greenlet only:
    /// std::logic_error from a greenlet). Never switches.
    explicit Deterministic(DeterministicOptions options = {});
    ~Deterministic();
    Deterministic(const Deterministic&) = delete;
    Deterministic& operator=(const Deterministic&) = delete;

    /// The options in force (for a test to print the seed it ran with).
    const DeterministicOptions& options() const noexcept { return options_; }

private:
    DeterministicOptions options_;
    bool saved_virtual_clock_;
    bool saved_seeded_order_;
    std::uint64_t saved_rng_;
};

}  // namespace grove
