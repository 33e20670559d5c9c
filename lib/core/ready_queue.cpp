// grove internal — the hub's ready queue: a FIFO linked through the greenlets.
#include "runtime.hpp"

namespace grove::detail {

void ReadyQueue::push_back(GreenletBase* g) noexcept {
    GreenletRecord& s = Runtime::record(*g);
    s.ready_next = nullptr;
    s.ready_prev = tail_;
    if (tail_)
        Runtime::record(*tail_).ready_next = g;
    else
        head_ = g;
    tail_ = g;
    ++size_;
}

GreenletBase* ReadyQueue::pop_front() noexcept {
    GreenletBase* g = head_;
    if (g) unlink(Runtime::record(*g));
    return g;
}

GreenletBase* ReadyQueue::pop_at(std::size_t i) noexcept {
    GreenletBase* g;
    if (i < size_ / 2) {
        g = head_;
        while (i--) g = Runtime::record(*g).ready_next;
    } else {
        g = tail_;
        for (std::size_t back = size_ - 1 - i; back--;) g = Runtime::record(*g).ready_prev;
    }
    unlink(Runtime::record(*g));
    return g;
}

void ReadyQueue::remove(GreenletBase* g) noexcept {
    GreenletRecord& s = Runtime::record(*g);
    if (s.state == GreenletState::Ready)
        s.state = GreenletState::Begun;
    else if (s.state == GreenletState::Scheduled)
        s.state = GreenletState::Delayed;
    else
        return;
    unlink(s);
}

void ReadyQueue::unlink(GreenletRecord& s) noexcept {
    if (s.ready_prev)
        Runtime::record(*s.ready_prev).ready_next = s.ready_next;
    else
        head_ = s.ready_next;
    if (s.ready_next)
        Runtime::record(*s.ready_next).ready_prev = s.ready_prev;
    else
        tail_ = s.ready_prev;
    s.ready_prev = s.ready_next = nullptr;
    --size_;
}

}  // namespace grove::detail
