// grove-sync — Event.
//
// set() wakes every waiter; each woken waiter's Node then sits on notifying_
// until its greenlet resumes and leaves wait(). A wait() that finds the flag
// set while notifying_ is not empty parks on late_, woken by the last Node to
// leave, so it runs after the earlier waiters (gevent issue 1520).
#include <grove/sync/event.hpp>

namespace grove {

struct Event::Node final : WaitNode {
    Node(Waiter& w, Event& ev) noexcept : WaitNode(w), event_(ev) {}
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    ~Node() override {
        // Linked means the Event is alive: both lists it may be on are its
        // members, and an Event's destructor unlinks every node.
        if (linked() && list() == &event_.notifying_) {
            unlink();
            if (event_.notifying_.empty()) event_.late_.notify_all();
        }
    }
    void notify() noexcept override {
        waiter().wake();
        event_.notifying_.push_back(*this);
    }
    Event& event_;
};

void Event::set() noexcept {
    flag_ = true;
    notify_ready();
}

bool Event::wait(std::optional<Duration> timeout) {
    if (flag_) {
        if (notifying_.empty()) return true;
        if (timeout && !(timeout->count() > 0)) {
            detail::deadline_after(timeout, "Event.wait");  // NaN: std::invalid_argument
            return true;
        }
        WaitSite<> site("Event", this);
        late_.push_back(site.node());
        site.waiter().wait(timeout);
        return true;
    }
    WaitSite<Node> site("Event", this, *this);
    waiters().push_back(site.node());
    // A broadcast hands nothing over: leaving by timeout, kill or Timeout only
    // unlinks the node (its destructor), nobody else's wake-up is consumed.
    return site.waiter().wait(timeout);
}

}  // namespace grove
