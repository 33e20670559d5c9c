// grove internal — Timeout guards on libev timers.
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "compact.hpp"
#include "runtime.hpp"

namespace grove {

using detail::HubImpl;
using detail::Runtime;

namespace {
// constinit and initial-exec: a plain %fs-relative increment (a thread_local of
// a shared library with the default model costs a call to __tls_get_addr).
[[gnu::tls_model("initial-exec")]] constinit thread_local std::uint64_t t_serial = 0;

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
    detail::compact_pin(this, +1);  // the hub fires it, and a fired one is queued in its greenlet's record
}

Timeout::~Timeout() {
    cancel();
    detail::compact_pin(this, -1);
}

void Timeout::start() {
    if (serial_) cancel();  // never started: nothing armed, fired or held back to cancel
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
    HubImpl* hub = HubImpl::current();
    if (armed_) {
        if (hub) hub->disarm_timer(Runtime::timer(timer_));
        armed_ = false;
    }
    pending_ = false;
    // Fired but not yet delivered (its greenlet was inside a destructor, or
    // another interrupt came first): the guard is gone, so is its error.
    if (delivery_ != detail::TimeoutDelivery::None) {
        Runtime::record(*owner_).interrupts.withdraw(*this);
    } else if (serial_ && hub && owner_ == hub->current_greenlet()) {
        Runtime::record(*owner_).interrupts.withdraw(serial_);  // a hook held its error and gave it back
    }
}

detail::Interrupt detail::Runtime::timeout_interrupt(const Timeout& t) noexcept {
    try {
        if (t.exception_) return {t.exception_, t.serial_};
        return {std::make_exception_ptr(TimeoutError(
                    t.serial_, fmt::format("timed out after {} seconds", t.seconds_ ? t.seconds_->count() : 0.0))),
                t.serial_};
    } catch (...) {
        return {std::current_exception(), t.serial_};  // out of memory: deliver that instead
    }
}

void detail::Runtime::timeout_fired(Timeout& t) noexcept {
    t.armed_ = false;
    t.pending_ = false;
    GreenletRecord& r = Runtime::record(*t.owner_);
    if (!detail::begun_alive(r.state)) return;
    // Queued behind another interrupt, it moves up when that one is thrown;
    // the greenlet was woken for that one already.
    if (r.interrupts.deliver(t)) static_cast<HubImpl*>(r.hub)->schedule(t.owner_);
}

}  // namespace grove
