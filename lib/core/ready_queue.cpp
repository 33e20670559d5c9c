// grove internal — the hub's ready queue: a FIFO linked through the greenlets.
#include "runtime.hpp"

namespace grove::detail {

void ReadyQueue::push_back(GreenletBase* g) noexcept {
    GreenletState& s = Runtime::state(*g);
    s.in_ready = true;
    s.ready_next = nullptr;
    s.ready_prev = tail_;
    if (tail_)
        Runtime::state(*tail_).ready_next = g;
    else
        head_ = g;
    tail_ = g;
    ++size_;
}

GreenletBase* ReadyQueue::pop_front() noexcept {
    GreenletBase* g = head_;
    if (g) remove(g);
    return g;
}

GreenletBase* ReadyQueue::pop_at(std::size_t i) noexcept {
    GreenletBase* g;
    if (i < size_ / 2) {
        g = head_;
        while (i--) g = Runtime::state(*g).ready_next;
    } else {
        g = tail_;
        for (std::size_t back = size_ - 1 - i; back--;) g = Runtime::state(*g).ready_prev;
    }
    remove(g);
    return g;
}

void ReadyQueue::remove(GreenletBase* g) noexcept {
    GreenletState& s = Runtime::state(*g);
    if (!s.in_ready) return;
    if (s.ready_prev)
        Runtime::state(*s.ready_prev).ready_next = s.ready_next;
    else
        head_ = s.ready_next;
    if (s.ready_next)
        Runtime::state(*s.ready_next).ready_prev = s.ready_prev;
    else
        tail_ = s.ready_prev;
    s.ready_prev = s.ready_next = nullptr;
    s.in_ready = false;
    --size_;
}

}  // namespace grove::detail
