// grove-sync — Event.
#include <grove/sync/event.hpp>

namespace grove {

void Event::set() noexcept {
    flag_ = true;
    notify_ready();
}

bool Event::wait(std::optional<Duration> timeout) {
    if (flag_) return true;
    Waiter waiter("Event", this);
    WaitNode node(waiter);
    waiters().push_back(node);
    // A broadcast hands nothing over: leaving by timeout, kill or Timeout only
    // unlinks the node (its destructor), nobody else's wake-up is consumed.
    return waiter.wait(timeout);
}

}  // namespace grove
