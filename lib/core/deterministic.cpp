// grove internal — entering and leaving deterministic mode (the hub does the
// rest: lib/core/hub.cpp jumps the virtual clock and draws the seeded run order).
#include <grove/deterministic.hpp>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "clock.hpp"
#include "runtime.hpp"

namespace grove {

using detail::t_deterministic;

namespace {

void check_on_main(const char* what) {
    const auto* hub = detail::HubImpl::current();
    if (hub && !hub->is_main_current())
        throw std::logic_error(std::string("grove::Deterministic: ") + what +
                               " inside a greenlet; create and destroy it on the thread's main greenlet");
}

/// Changes the clock domain at this instant: armed dues keep what they had left.
void set_virtual_clock(bool on) {
    if (on == t_deterministic.virtual_clock) return;
    const std::int64_t real = detail::real_now_ns();
    if (on) {
        t_deterministic.virtual_now_ns = real;
        t_deterministic.virtual_clock = true;
        return;
    }
    const std::int64_t delta = real - t_deterministic.virtual_now_ns;
    t_deterministic.virtual_clock = false;
    if (auto* hub = detail::HubImpl::current()) hub->shift_timers(delta);
}

}  // namespace

Deterministic::Deterministic(DeterministicOptions options)
    : options_(options),
      saved_virtual_clock_(t_deterministic.virtual_clock),
      saved_seeded_order_(t_deterministic.seeded_order),
      saved_rng_(t_deterministic.rng) {
    check_on_main("created");
    set_virtual_clock(options_.virtual_clock);
    t_deterministic.seeded_order = options_.seed.has_value();
    if (options_.seed) t_deterministic.rng = *options_.seed;
}

Deterministic::~Deterministic() {
    if (auto* hub = detail::HubImpl::current(); hub && !hub->is_main_current()) {
        // Torn down inside a greenlet, the clock would jump under its feet.
        std::fputs(
            "grove: grove::Deterministic destroyed inside a greenlet; destroy it on the thread's main greenlet\n",
            stderr);
        std::abort();
    }
    set_virtual_clock(saved_virtual_clock_);
    t_deterministic.seeded_order = saved_seeded_order_;
    t_deterministic.rng = saved_rng_;
}

}  // namespace grove
