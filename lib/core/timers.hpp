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

#include <cstddef>
#include <cstdint>

namespace grove::detail {

/// One timer. Armed iff index != 0 (its slot in the heap's array).
struct HubTimer {
    using Fire = void (*)(HubTimer&) noexcept;

    std::uint64_t order = 0;  // arming order: ties fire first-armed first
    std::uint32_t index = 0;
    bool referenced = true;  // keeps the loop alive (a Waiter may opt out)
    Fire fire = nullptr;
    void* data = nullptr;

    bool armed() const noexcept { return index != 0; }
};

/// A 4-ary min-heap of armed timers, ordered by (due, armed order). Each
/// slot holds the due next to the timer's address, so comparing two timers
/// reads the heap's array only (the timer itself only on a tie of dues), and
/// the four children of a node share one 64-byte line: at a million pending
/// timers a level costs one cache miss, not one per child. Positions are kept
/// in HubTimer::index, so removing any timer is O(log n) without a search.
class TimerHeap {
public:
    TimerHeap() = default;
    ~TimerHeap();
    TimerHeap(const TimerHeap&) = delete;
    TimerHeap& operator=(const TimerHeap&) = delete;

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    /// How many armed timers keep the loop alive.
    int referenced() const noexcept { return referenced_; }
    /// The earliest timer, and its due (not empty()).
    HubTimer& top() const noexcept { return *heap_[kRoot].timer; }
    std::int64_t top_due() const noexcept { return heap_[kRoot].due_ns; }
    /// The due of `t` (armed), on grove's clock in nanoseconds.
    std::int64_t due(const HubTimer& t) const noexcept { return heap_[t.index].due_ns; }

    /// Arms `t` (not armed) for `due_ns`. Returns true when it is the first
    /// referenced timer (referenced() went 0 → 1). May throw std::bad_alloc,
    /// leaving everything as it was.
    bool push(HubTimer& t, std::int64_t due_ns);
    /// Disarms `t` (armed). Returns true when it was the last referenced
    /// timer (referenced() went 1 → 0).
    bool remove(HubTimer& t) noexcept;
    /// Adds `delta_ns` to every due (order kept): a change of clock domain.
    void shift(std::int64_t delta_ns) noexcept;

private:
    struct Slot {
        std::int64_t due_ns;
        HubTimer* timer;
    };
    static constexpr std::size_t kArity = 4;
    // The root's slot. Slots before it are unused, so that the children of
    // slot i, at kArity·(i − kRoot) + kRoot + 1 …, start on a multiple of
    // kArity: one line of the (64-byte aligned) array. It also keeps 0 free
    // for "not armed".
    static constexpr std::size_t kRoot = kArity - 1;
    static constexpr std::size_t kAlign = 64;
    static_assert(sizeof(Slot) * kArity == kAlign, "four children per cache line");

    static std::size_t parent(std::size_t i) noexcept { return (i - kRoot - 1) / kArity + kRoot; }
    static std::size_t first_child(std::size_t i) noexcept { return kArity * (i - kRoot) + kRoot + 1; }
    static bool before(const Slot& a, const Slot& b) noexcept {
        return a.due_ns < b.due_ns || (a.due_ns == b.due_ns && a.timer->order < b.timer->order);
    }
    void place(std::size_t i, const Slot& s) noexcept {
        heap_[i] = s;
        s.timer->index = static_cast<std::uint32_t>(i);
    }
    void sift_up(std::size_t i, Slot s) noexcept;
    void sift_down(std::size_t i, Slot s) noexcept;
    void grow();

    Slot* heap_ = nullptr;  // slots [kRoot, kRoot + size_) are the heap
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;  // slots allocated, kRoot included
    std::uint64_t next_order_ = 0;
    int referenced_ = 0;
};

}  // namespace grove::detail
