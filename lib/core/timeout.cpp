// grove internal — Timeout guards on libev timers.
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "runtime.hpp"

namespace grove {

using detail::HubImpl;
using detail::Runtime;

namespace {
thread_local std::uint64_t t_serial = 0;

void timeout_fired(detail::HubTimer& t) noexcept { Runtime::timeout_fired(*static_cast<Timeout*>(t.data)); }
}  // namespace

bool TimeoutError::from(const Timeout& guard) const noexcept {
    return source_ != 0 && source_ == Runtime::serial(guard);
}

Timeout::Timeout(std::optional<Duration> seconds, std::exception_ptr e, bool start)
    : seconds_(seconds), exception_(std::move(e)) {
    if (seconds_ && std::isnan(seconds_->count())) throw std::invalid_argument("grove: Timeout: seconds is NaN");
    Runtime::init_timer(timer_, &timeout_fired, this);
    if (start) this->start();
}

Timeout::~Timeout() { cancel(); }

void Timeout::start() {
    cancel();
    HubImpl& hub = HubImpl::get();
    hub.check_may_block("Timeout::start");
    owner_ = hub.current_greenlet();
    serial_ = ++t_serial;
    if (!seconds_ || seconds_->count() > 3.0e9) return;  // never fires
    const double after = seconds_->count() > 0 ? seconds_->count() : 0.;
    hub.arm_timer_after(Runtime::timer(timer_), after);
    armed_ = true;
    pending_ = true;
}

void Timeout::cancel() noexcept {
    if (armed_) {
        HubImpl* hub = HubImpl::current();
        if (hub) hub->disarm_timer(Runtime::timer(timer_));
        armed_ = false;
    }
    pending_ = false;
    // Fired but not yet delivered (its greenlet was inside a destructor): the
    // guard is gone, so is its error.
    HubImpl* hub = HubImpl::current();
    if (serial_ && hub && owner_ == hub->current_greenlet()) {
        auto& s = Runtime::state(*owner_);
        if (s.pending_serial == serial_) {
            s.pending = nullptr;
            s.pending_serial = 0;
        }
    }
}

void detail::Runtime::timeout_fired(Timeout& t) noexcept {
    t.armed_ = false;
    t.pending_ = false;
    GreenletState& s = Runtime::state(*t.owner_);
    if (s.phase != Phase::Running) return;
    if (s.pending) {
        // Another guard's error (or a kill) is on its way and may be caught:
        // fire again shortly rather than lose this one.
        auto& hub = *static_cast<HubImpl*>(s.hub);
        try {
            hub.arm_timer_after(Runtime::timer(t.timer_), 0.001);
        } catch (...) {
            return;  // out of memory for the heap: this guard's error is lost, the other's goes on
        }
        t.armed_ = true;
        t.pending_ = true;
        return;
    }
    {
        try {
            s.pending = t.exception_ ? t.exception_
                                     : std::make_exception_ptr(TimeoutError(
                                           t.serial_, fmt::format("timed out after {} seconds",
                                                                  t.seconds_ ? t.seconds_->count() : 0.0)));
        } catch (...) {
            s.pending = std::current_exception();  // out of memory: deliver that instead
        }
        s.pending_serial = t.serial_;
    }
    static_cast<HubImpl*>(s.hub)->schedule(t.owner_);
}

}  // namespace grove
