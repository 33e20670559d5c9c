// grove-hooks — sleep, usleep, nanosleep, clock_nanosleep as grove::sleep.
//
// sleep() must be hooked by itself: glibc's sleep() calls its internal
// nanosleep, never the interposable symbol (docs/design.md, "What the hooks
// never see").
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include <grove/greenlet.hpp>

#include "real.hpp"
#include "signals.hpp"
#include "state.hpp"

namespace grove::hooks {
namespace {

constexpr long kNs = 1000000000L;

bool valid(const timespec* ts) noexcept { return ts && ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < kNs; }

Duration to_duration(const timespec& ts) noexcept {
    return Duration(static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9);
}

void to_timespec(Duration d, timespec* out) noexcept {
    if (!out) return;
    if (d.count() < 0) d = Duration::zero();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    out->tv_sec = static_cast<time_t>(ns / kNs);
    out->tv_nsec = static_cast<long>(ns % kNs);
}

/// Sleeps cooperatively until `deadline`; 0 or the errno of an interruption
/// (EINTR for a signal handler, never restarted: signal(7); ECANCELED,
/// ETIMEDOUT), with the time left in *rem when interrupted.
int sleep_until(Deadline deadline, timespec* rem) {
    if (kill_pending()) {
        to_timespec(deadline - grove::now(), rem);
        return ECANCELED;
    }
    if (const int err = ensure_hub()) return err;
    InterruptibleWait signals;
    try {
        do {
            grove::sleep(deadline - grove::now());  // <= 0 still yields once
        } while (grove::now() < deadline);
        return 0;
    } catch (const SignalInterrupt&) {
        to_timespec(deadline - grove::now(), rem);
        return EINTR;
    } catch (...) {
        const int err = interrupted();
        to_timespec(deadline - grove::now(), rem);
        return err;
    }
}

/// Maps an absolute time on `clock` to a steady-clock deadline.
bool deadline_for(clockid_t clock, int flags, const timespec& req, Deadline& out) noexcept {
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME && clock != CLOCK_TAI)
        return false;
    Duration d = to_duration(req);
    if (flags & TIMER_ABSTIME) {
        timespec now{};
        clock_gettime(clock, &now);
        d -= to_duration(now);
    }
    out = grove::now() + std::chrono::duration_cast<Clock::duration>(d);
    return true;
}

}  // namespace
}  // namespace grove::hooks

using namespace grove::hooks;

extern "C" {

int nanosleep(const timespec* req, timespec* rem) {
    if (!cooperative() || !valid(req)) return real::nanosleep(req, rem);
    const grove::Deadline deadline =
        grove::now() + std::chrono::duration_cast<grove::Clock::duration>(to_duration(*req));
    const int err = sleep_until(deadline, rem);
    return err ? fail(err) : 0;
}

int clock_nanosleep(clockid_t clock, int flags, const timespec* req, timespec* rem) {
    grove::Deadline deadline;
    if (!cooperative() || !valid(req) || !deadline_for(clock, flags, *req, deadline))
        return real::clock_nanosleep(clock, flags, req, rem);
    // With TIMER_ABSTIME, *rem is left alone, as by the kernel.
    return sleep_until(deadline, (flags & TIMER_ABSTIME) ? nullptr : rem);
}

unsigned sleep(unsigned seconds) {
    if (!cooperative()) return real::sleep(seconds);
    timespec rem{0, 0};
    if (sleep_until(grove::now() + std::chrono::seconds(seconds), &rem) == 0) return 0;
    return static_cast<unsigned>(rem.tv_sec + (rem.tv_nsec > 0 ? 1 : 0));
}

int usleep(useconds_t usec) {
    if (!cooperative()) return real::usleep(usec);
    const int err = sleep_until(grove::now() + std::chrono::microseconds(usec), nullptr);
    return err ? fail(err) : 0;
}

}  // extern "C"
