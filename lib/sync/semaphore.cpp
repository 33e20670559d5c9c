// grove-sync — Semaphore and BoundedSemaphore.
//
// Invariant: acquirers_ non-empty implies counter_ == 0. A release() with
// waiters never touches the counter; it unlinks the first waiter and wakes
// it, and that wake-up *is* the permit (Waiter::woken()). Only give() wakes
// an acquirer, so woken() can mean nothing else.
#include <stdexcept>
#include <string>

#include <grove/sync/semaphore.hpp>

namespace grove {

Semaphore::Semaphore(int value) : Semaphore(value, false) {}

Semaphore::Semaphore(int value, bool bounded) : counter_(value), bound_(value), bounded_(bounded) {
    if (value < 0)
        throw std::invalid_argument("grove::Semaphore: initial value must be >= 0, got " + std::to_string(value));
}

void Semaphore::give() noexcept {
    if (acquirers_.notify_one()) return;
    ++counter_;
    watchers_.notify_all();
}

void Semaphore::release() {
    if (bounded_ && acquirers_.empty() && counter_ >= bound_)
        throw std::logic_error("grove::BoundedSemaphore::release: released too many times (counter already at " +
                               std::to_string(bound_) + ")");
    give();
}

bool Semaphore::acquire(bool block, std::optional<Duration> timeout) {
    if (counter_ > 0) {
        --counter_;
        return true;
    }
    if (!block) return false;
    WaitSite<> site("Semaphore", this);
    acquirers_.push_back(site.node());
    try {
        return site.waiter().wait(timeout);
    } catch (...) {
        // The one place a handed-over permit could vanish: killed or timed out
        // in the same turn the permit arrived. Pass it on.
        if (site.waiter().woken()) give();
        throw;
    }
}

bool Semaphore::wait(std::optional<Duration> timeout) {
    if (counter_ > 0) return true;
    WaitSite<> site("Semaphore.wait", this);
    watchers_.push_back(site.node());
    site.waiter().wait(timeout);
    return counter_ > 0;
}

}  // namespace grove
