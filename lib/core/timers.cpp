// grove internal — TimerHeap: a binary min-heap with back-pointers.
#include "timers.hpp"

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

}  // namespace grove::detail
