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

namespace {
/// Asks for the `lines` cache lines from a suspended greenlet's saved stack
/// pointer up: the registers its resume pops and its innermost frames.
inline void prefetch_stack_top(const void* fctx, int lines) noexcept {
    const auto* top = static_cast<const char*>(fctx);
    if (!top) return;  // not begun: no stack yet
    for (int i = 0; i < lines; ++i) __builtin_prefetch(top + 64 * i);
}
}  // namespace

void ReadyQueue::prefetch_ahead(const GreenletRecord& popped) const noexcept {
    prefetch_stack_top(popped.ctx.fctx, 2);
    if (GreenletBase* next = head_) {
        const GreenletRecord& n = Runtime::record(*next);
        prefetch_stack_top(n.ctx.fctx, 8);
        if (n.ready_next) __builtin_prefetch(&Runtime::record(*n.ready_next));
    }
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
