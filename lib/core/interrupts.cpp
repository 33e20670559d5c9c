// grove internal — the rules of lib/core/interrupts.hpp.
#include "interrupts.hpp"

#include "runtime.hpp"

namespace grove::detail {

bool PendingInterrupts::deliver(Interrupt i) noexcept {
    if (!i.error) return false;
    if (any()) {
        if (i.source != kKillSource || kill()) return false;  // the first kill stays
        // A kill outranks a Timeout (or signal) that has not reached the greenlet yet.
        if (slot_timeout_) push_front(*slot_timeout_);
    }
    slot_ = std::move(i);
    slot_timeout_ = nullptr;
    return true;
}

bool PendingInterrupts::deliver(Timeout& t) noexcept {
    if (any()) {
        Runtime::timeout_next(t) = nullptr;
        if (queue_tail_)
            Runtime::timeout_next(*queue_tail_) = &t;
        else
            queue_head_ = &t;
        queue_tail_ = &t;
        Runtime::timeout_delivery(t) = TimeoutDelivery::Queued;
        return false;
    }
    slot_ = Runtime::timeout_interrupt(t);
    slot_timeout_ = &t;
    Runtime::timeout_delivery(t) = TimeoutDelivery::InSlot;
    return true;
}

Interrupt PendingInterrupts::take() noexcept {
    Interrupt out = std::move(slot_);
    slot_ = {};
    if (slot_timeout_) Runtime::timeout_delivery(*slot_timeout_) = TimeoutDelivery::None;
    slot_timeout_ = nullptr;
    fill_from_queue();
    return out;
}

void PendingInterrupts::withdraw(Timeout& t) noexcept {
    auto& delivery = Runtime::timeout_delivery(t);
    if (delivery == TimeoutDelivery::InSlot && slot_timeout_ == &t) {
        (void)take();
    } else if (delivery == TimeoutDelivery::Queued) {
        Timeout* prev = nullptr;
        for (Timeout* q = queue_head_; q; prev = q, q = Runtime::timeout_next(*q)) {
            if (q != &t) continue;
            Timeout* next = Runtime::timeout_next(*q);
            (prev ? Runtime::timeout_next(*prev) : queue_head_) = next;
            if (queue_tail_ == q) queue_tail_ = prev;
            break;
        }
    }
    delivery = TimeoutDelivery::None;
}

void PendingInterrupts::clear_slow() noexcept {
    slot_ = {};
    if (slot_timeout_) Runtime::timeout_delivery(*slot_timeout_) = TimeoutDelivery::None;
    slot_timeout_ = nullptr;
    while (Timeout* q = queue_head_) {
        queue_head_ = Runtime::timeout_next(*q);
        Runtime::timeout_delivery(*q) = TimeoutDelivery::None;
    }
    queue_tail_ = nullptr;
}

void PendingInterrupts::fill_from_queue() noexcept {
    Timeout* t = queue_head_;
    if (!t) return;
    queue_head_ = Runtime::timeout_next(*t);
    if (!queue_head_) queue_tail_ = nullptr;
    slot_ = Runtime::timeout_interrupt(*t);
    slot_timeout_ = t;
    Runtime::timeout_delivery(*t) = TimeoutDelivery::InSlot;
}

void PendingInterrupts::push_front(Timeout& t) noexcept {
    Runtime::timeout_next(t) = queue_head_;
    queue_head_ = &t;
    if (!queue_tail_) queue_tail_ = &t;
    Runtime::timeout_delivery(t) = TimeoutDelivery::Queued;
}

}  // namespace grove::detail
