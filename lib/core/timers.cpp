// grove internal — TimerHeap, a 4-ary min-heap with back-pointers, and the
// hub's timer glue: the heap behind the loop's one wake-up timer.
#include "timers.hpp"

#include <cstring>
#include <new>

#include "clock.hpp"
#include "runtime.hpp"

namespace grove::detail {

TimerHeap::~TimerHeap() {
    if (heap_) ::operator delete (heap_, std::align_val_t{kAlign});
}

void TimerHeap::grow() {
    const std::size_t capacity = capacity_ ? 2 * capacity_ : 64;
    auto* heap = static_cast<Slot*>(::operator new (capacity * sizeof(Slot), std::align_val_t{kAlign}));
    if (heap_) {
        std::memcpy(heap + kRoot, heap_ + kRoot, size_ * sizeof(Slot));
        ::operator delete (heap_, std::align_val_t{kAlign});
    }
    heap_ = heap;
    capacity_ = capacity;
}

bool TimerHeap::push(HubTimer& t, std::int64_t due_ns) {
    if (kRoot + size_ >= capacity_) grow();  // the only step that may throw: nothing changed yet
    t.order = ++next_order_;
    ++size_;
    sift_up(kRoot + size_ - 1, Slot{due_ns, &t});
    return t.referenced && referenced_++ == 0;
}

bool TimerHeap::remove(HubTimer& t) noexcept {
    const std::size_t i = t.index;
    t.index = 0;
    const std::size_t last = kRoot + --size_;
    if (i != last) {
        const Slot moved = heap_[last];
        if (i > kRoot && before(moved, heap_[parent(i)]))
            sift_up(i, moved);
        else
            sift_down(i, moved);
    }
    return t.referenced && --referenced_ == 0;
}

void TimerHeap::shift(std::int64_t delta_ns) noexcept {
    for (std::size_t i = kRoot; i < kRoot + size_; ++i) heap_[i].due_ns += delta_ns;
}

void TimerHeap::sift_up(std::size_t i, Slot s) noexcept {
    while (i > kRoot) {
        const std::size_t p = parent(i);
        if (!before(s, heap_[p])) break;
        place(i, heap_[p]);
        i = p;
    }
    place(i, s);
}

void TimerHeap::sift_down(std::size_t i, Slot s) noexcept {
    const std::size_t end = kRoot + size_;
    for (;;) {
        const std::size_t c = first_child(i);
        if (c >= end) break;
        const std::size_t stop = c + kArity < end ? c + kArity : end;
        std::size_t least = c;
        for (std::size_t k = c + 1; k < stop; ++k)
            if (before(heap_[k], heap_[least])) least = k;
        if (!before(heap_[least], s)) break;
        place(i, heap_[least]);
        i = least;
    }
    place(i, s);
}

// --- the hub's timers ------------------------------------------------------------
//
// The heap holds the loop (Loop::hold) once while any referenced timer is
// armed: the loop's count of what keeps it alive has one for all the timers
// (HubImpl::timer_holds()), and the loop's one wake-up timer is itself
// unreferenced. One hold per timer, as when each was an ev_timer, made every
// arm and every cancel call into libev.

void HubImpl::arm_timer(HubTimer& t, std::int64_t due_ns) {
    disarm_timer(t);
    if (timers_.push(t, due_ns)) loop_.hold();
    if (!loop_.wakeup_armed() || due_ns < wakeup_due_ns_) rearm_wakeup();
}

void HubImpl::arm_timer_after(HubTimer& t, double after) {
    const std::int64_t left = after > 0 ? static_cast<std::int64_t>(after * 1e9) : 0;
    arm_timer(t, clock_now_ns() + left);
}

void HubImpl::disarm_armed_timer(HubTimer& t) noexcept {
    if (timers_.remove(t)) loop_.release();  // the wake-up may now be early: it finds nothing due and re-arms
}

void HubImpl::shift_timers(std::int64_t delta_ns) noexcept {
    timers_.shift(delta_ns);
    rearm_wakeup();
}

void HubImpl::fire_due_timers() noexcept {
    const std::int64_t now = clock_now_ns();
    while (!timers_.empty() && timers_.top_due() <= now) {
        HubTimer& t = timers_.top();
        disarm_armed_timer(t);
        t.fire(t);
    }
    rearm_wakeup();
}

void HubImpl::rearm_wakeup() noexcept {
    if (loop_.wakeup_armed()) {
        if (!timers_.empty() && timers_.top_due() == wakeup_due_ns_) return;
        loop_.stop_wakeup();
    }
    if (timers_.empty()) return;
    wakeup_due_ns_ = timers_.top_due();
    const std::int64_t left = wakeup_due_ns_ - clock_now_ns();
    loop_.arm_wakeup(left > 0 ? static_cast<double>(left) * 1e-9 : 0.);
}

void HubImpl::wakeup_cb(void* data) noexcept {
    auto* hub = static_cast<HubImpl*>(data);
    if (t_deterministic.virtual_clock) hub->catch_up_virtual_clock();
    hub->fire_due_timers();
}

}  // namespace grove::detail
