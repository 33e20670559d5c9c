// grove internal — Waiter, WaitNode, WaitList: the park/unpark primitive.
#include <stdexcept>

#include "clock.hpp"
#include "compact.hpp"
#include "runtime.hpp"

namespace grove {

using detail::HubImpl;
using detail::Runtime;

// --- WaitNode / WaitList --------------------------------------------------------

// Each of the three pins a compact greenlet whose stack it lies on
// (lib/core/compact.hpp): others reach into that stack through it.
WaitNode::WaitNode(Waiter& waiter) noexcept : waiter_(&waiter) { detail::compact_pin(this, +1); }

WaitNode::~WaitNode() {
    unlink();
    detail::compact_pin(this, -1);
}

void WaitNode::unlink() noexcept {
    if (list_) list_->remove(*this);
}

void WaitNode::notify() noexcept { waiter_->wake(); }

WaitList::WaitList() noexcept { detail::compact_pin(this, +1); }

WaitList::~WaitList() {
    while (head_) remove(*head_);
    detail::compact_pin(this, -1);
}

void WaitList::push_back(WaitNode& node) noexcept {
    node.unlink();
    node.list_ = this;
    node.prev_ = tail_;
    node.next_ = nullptr;
    if (tail_)
        tail_->next_ = &node;
    else
        head_ = &node;
    tail_ = &node;
    ++size_;
}

void WaitList::push_front(WaitNode& node) noexcept {
    node.unlink();
    node.list_ = this;
    node.prev_ = nullptr;
    node.next_ = head_;
    if (head_)
        head_->prev_ = &node;
    else
        tail_ = &node;
    head_ = &node;
    ++size_;
}

void WaitList::remove(WaitNode& node) noexcept {
    if (node.list_ != this) return;
    if (node.prev_)
        node.prev_->next_ = node.next_;
    else
        head_ = node.next_;
    if (node.next_)
        node.next_->prev_ = node.prev_;
    else
        tail_ = node.prev_;
    node.prev_ = node.next_ = nullptr;
    node.list_ = nullptr;
    --size_;
}

WaitNode* WaitList::pop_front() noexcept {
    WaitNode* node = head_;
    if (node) remove(*node);
    return node;
}

Waiter* WaitList::notify_one() noexcept {
    WaitNode* node = pop_front();
    if (!node) return nullptr;
    Waiter* w = &node->waiter();
    node->notify();
    return w;
}

std::size_t WaitList::notify_all() noexcept {
    // Only the nodes present now: a notification that links a new node (a
    // woken greenlet cannot run yet, but an iwait node may) waits for the next.
    std::size_t n = size_;
    std::size_t done = 0;
    while (done < n && head_) {
        WaitNode* node = pop_front();
        node->notify();
        ++done;
    }
    return done;
}

// --- Waiter ---------------------------------------------------------------------

namespace {
void waiter_timer_fired(detail::HubTimer& t) noexcept { Runtime::waiter_timer_fired(*static_cast<Waiter*>(t.data)); }
}  // namespace

Waiter::Waiter(const char* what, const void* object) : what_(what), object_(object) {
    HubImpl& hub = HubImpl::get();
    hub_ = &hub;
    greenlet_ = hub.current_greenlet();
    Runtime::init_timer(timer_, &waiter_timer_fired, this);
    detail::compact_pin(Runtime::record(*greenlet_).ctx, this, +1);
}

Waiter::~Waiter() {
    Runtime::waiter_stop_timer(*this);
    auto& s = Runtime::record(*greenlet_);
    if (s.parked_on == this) s.parked_on = nullptr;
    detail::compact_pin(s.ctx, this, -1);
}

bool Waiter::wait(std::optional<Duration> timeout) {
    if (woken_) return true;
    if (!timeout) return wait_until(std::nullopt);  // the common case: no clock, no timer
    return wait_until(detail::deadline_after(timeout, what_));
}

bool Waiter::wait_until(std::optional<Deadline> deadline) {
    if (woken_) return true;
    auto& hub = *static_cast<HubImpl*>(hub_);
    hub.check_may_block(what_);
    if (hub.current_greenlet() != greenlet_)
        throw std::logic_error("grove::Waiter::wait: called by a greenlet other than the one that created it");
    if (deadline) {
        if (*deadline == Deadline::min()) return false;
        if (*deadline <= now()) return false;
        detail::HubTimer& t = Runtime::timer(timer_);
        t.referenced = keeps_alive_;
        hub.arm_timer(t, detail::to_ns(*deadline));
    }
    // Its first wait: the record moves onto the top page of its stack, which
    // its frames keep resident anyway (greenlet_record.hpp). It moves nowhere
    // else while the greenlet lives, so `s` stays good across the waits below.
    auto* record = &Runtime::record(*greenlet_);
    if (record->moves_at_first_wait) [[unlikely]]
        record = &Runtime::move_record_to_stack(*greenlet_);
    auto& s = *record;
    // A kill or Timeout deferred past an earlier wait (wake_final, or a
    // destructor) is thrown here, its next blocking point: resume at once.
    if (s.interrupts.any()) [[unlikely]]
        hub.schedule(greenlet_);
    timed_out_ = false;
    s.parked_on = this;
    struct Unpark {
        Waiter* w;
        detail::GreenletRecord& s;
        ~Unpark() {
            s.parked_on = nullptr;
            Runtime::waiter_stop_timer(*w);
        }
    } unpark{this, s};
    while (!woken_ && !timed_out_) hub.suspend();
    return woken_;
}

void Waiter::wake() noexcept {
    if (woken_) return;
    woken_ = true;
    if (Runtime::record(*greenlet_).parked_on == this) static_cast<HubImpl*>(hub_)->schedule(greenlet_);
}

void detail::Runtime::waiter_stop_timer(Waiter& w) noexcept {
    static_cast<HubImpl*>(w.hub_)->disarm_timer(timer(w.timer_));
}

void detail::Runtime::waiter_timer_fired(Waiter& w) noexcept {
    w.timed_out_ = true;
    if (Runtime::record(*w.greenlet_).parked_on == &w) static_cast<HubImpl*>(w.hub_)->schedule(w.greenlet_);
}

}  // namespace grove
