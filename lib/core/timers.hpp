// grove internal — the hub's timers: one heap of deadlines on grove's clock,
// behind a single libev timer.
//
// Every timed thing in grove (a Waiter's deadline, a Timeout, start_later)
// is a HubTimer living inside its owner (a detail::TimerSlot), so arming one
// allocates nothing. The hub keeps them in one min-heap ordered by (due,
// armed order) and asks libev for one wake-up, at the earliest due. Owning the
// heap, rather than one ev_timer each, is what lets the deterministic mode
// (grove/deterministic.hpp) move time by itself: it jumps the clock to the
// earliest due when every greenlet waits on time, and fires ties in the order
// they were armed — the same on every run.
#pragma once

#include "internal.hpp"

#include <cstdint>
#include <vector>

namespace grove::detail {

/// One timer. Armed iff index != 0 (its heap position + 1).
struct HubTimer {
    using Fire = void (*)(HubTimer&) noexcept;

    std::int64_t due_ns = 0;  // on grove's clock (grove::now()), nanoseconds
    std::uint64_t order = 0;  // arming order: ties fire first-armed first
    std::uint32_t index = 0;
    bool referenced = true;  // keeps the loop alive (a Waiter may opt out)
    Fire fire = nullptr;
    void* data = nullptr;

    bool armed() const noexcept { return index != 0; }
};

/// A binary min-heap of armed timers (positions kept in HubTimer::index, so
/// stopping one is O(log n) without a search).
class TimerHeap {
public:
    bool empty() const noexcept { return heap_.empty(); }
    std::size_t size() const noexcept { return heap_.size(); }
    /// How many armed timers keep the loop alive.
    int referenced() const noexcept { return referenced_; }
    HubTimer& top() const noexcept { return *heap_.front(); }

    /// Arms `t` (not armed) for `due_ns`. May throw std::bad_alloc.
    void push(HubTimer& t, std::int64_t due_ns);
    /// Disarms `t` (armed).
    void remove(HubTimer& t) noexcept;
    /// Adds `delta_ns` to every due (order kept): a change of clock domain.
    void shift(std::int64_t delta_ns) noexcept;

private:
    bool before(const HubTimer* a, const HubTimer* b) const noexcept {
        return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->order < b->order);
    }
    void place(std::size_t i, HubTimer* t) noexcept {
        heap_[i] = t;
        t->index = static_cast<std::uint32_t>(i + 1);
    }
    void sift_up(std::size_t i) noexcept;
    void sift_down(std::size_t i) noexcept;

    std::vector<HubTimer*> heap_;
    std::uint64_t next_order_ = 0;
    int referenced_ = 0;
};

}  // namespace grove::detail
