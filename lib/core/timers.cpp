// grove internal — TimerHeap, a binary min-heap with back-pointers, and the
// hub's timer glue: the heap behind the loop's one wake-up timer.
#include "timers.hpp"

#include "clock.hpp"
#include "runtime.hpp"

namespace grove::detail {

void TimerHeap::push(HubTimer& t, std::int64_t due_ns) {
    heap_.push_back(&t);  // the only step that may throw: nothing changed yet
    t.due_ns = due_ns;
    t.order = ++next_order_;
    if (t.referenced) ++referenced_;
    place(heap_.size() - 1, &t);
    sift_up(heap_.size() - 1);
}

void TimerHeap::remove(HubTimer& t) noexcept {
    const std::size_t i = t.index - 1;
    t.index = 0;
    if (t.referenced) --referenced_;
    HubTimer* last = heap_.back();
    heap_.pop_back();
    if (last == &t) return;
    place(i, last);
    if (i > 0 && before(last, heap_[(i - 1) / 2]))
        sift_up(i);
    else
        sift_down(i);
}

void TimerHeap::shift(std::int64_t delta_ns) noexcept {
    for (HubTimer* t : heap_) t->due_ns += delta_ns;
}

void TimerHeap::sift_up(std::size_t i) noexcept {
    HubTimer* t = heap_[i];
    while (i > 0) {
        const std::size_t parent = (i - 1) / 2;
        if (!before(t, heap_[parent])) break;
        place(i, heap_[parent]);
        i = parent;
    }
    place(i, t);
}

void TimerHeap::sift_down(std::size_t i) noexcept {
    HubTimer* t = heap_[i];
    const std::size_t n = heap_.size();
    for (;;) {
        std::size_t child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
        if (!before(heap_[child], t)) break;
        place(i, heap_[child]);
        i = child;
    }
    place(i, t);
}

// --- the hub's timers ------------------------------------------------------------
//
// Referenced timers hold the loop (Loop::hold) while armed, so the loop's
// count of watchers that keep it alive includes them as it did when each was
// an ev_timer; the loop's one wake-up timer is itself unreferenced.

void HubImpl::arm_timer(HubTimer& t, std::int64_t due_ns) {
    disarm_timer(t);
    timers_.push(t, due_ns);
    if (t.referenced) loop_.hold();
    if (!loop_.wakeup_armed() || due_ns < wakeup_due_ns_) rearm_wakeup();
}

void HubImpl::arm_timer_after(HubTimer& t, double after) {
    const std::int64_t left = after > 0 ? static_cast<std::int64_t>(after * 1e9) : 0;
    arm_timer(t, clock_now_ns() + left);
}

void HubImpl::disarm_timer(HubTimer& t) noexcept {
    if (!t.armed()) return;
    if (t.referenced) loop_.release();
    timers_.remove(t);  // the wake-up may now be early: it finds nothing due and re-arms
}

void HubImpl::shift_timers(std::int64_t delta_ns) noexcept {
    timers_.shift(delta_ns);
    rearm_wakeup();
}

void HubImpl::fire_due_timers() noexcept {
    const std::int64_t now = clock_now_ns();
    while (!timers_.empty() && timers_.top().due_ns <= now) {
        HubTimer& t = timers_.top();
        disarm_timer(t);
        t.fire(t);
    }
    rearm_wakeup();
}

void HubImpl::rearm_wakeup() noexcept {
    if (loop_.wakeup_armed()) {
        if (!timers_.empty() && timers_.top().due_ns == wakeup_due_ns_) return;
        loop_.stop_wakeup();
    }
    if (timers_.empty()) return;
    wakeup_due_ns_ = timers_.top().due_ns;
    const std::int64_t left = wakeup_due_ns_ - clock_now_ns();
    loop_.arm_wakeup(left > 0 ? static_cast<double>(left) * 1e-9 : 0.);
}

void HubImpl::wakeup_cb(void* data) noexcept {
    auto* hub = static_cast<HubImpl*>(data);
    if (t_deterministic.virtual_clock) hub->catch_up_virtual_clock();
    hub->fire_due_timers();
}

}  // namespace grove::detail
