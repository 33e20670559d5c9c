// grove internal — what a greenlet is to be interrupted with when it next
// resumes: a kill, a grove::Timeout's error, a signal.
//
// Every interrupt goes in through PendingInterrupts::deliver, and the rules
// for two that meet live there and nowhere else:
//  - a kill outranks a Timeout or signal that is waiting (a displaced Timeout
//    goes back to the front of the queue: it is thrown after the kill, if the
//    greenlet catches that and blocks again);
//  - a second kill while one is undelivered is dropped: the first is kept;
//  - a Timeout that fires while another interrupt waits is queued, in firing
//    order, and moves up when the one before it is taken (thrown): no timer
//    re-fires to find out when the slot is free;
//  - a signal interrupt only goes into an empty slot.
#pragma once

#include "internal.hpp"

#include <cstdint>
#include <exception>

namespace grove {
class Timeout;
}

namespace grove::detail {

/// Who sent an interrupt: a kill (GreenletBase::kill, LoopExit, a hook giving
/// a kill back), a signal (the main greenlet's interruptible wait), or a
/// grove::Timeout (its serial: every other value).
inline constexpr std::uint64_t kKillSource = 0;
inline constexpr std::uint64_t kSignalSource = UINT64_MAX;

struct Interrupt {
    std::exception_ptr error;
    std::uint64_t source = kKillSource;
};

class PendingInterrupts {
public:
    PendingInterrupts() = default;
    PendingInterrupts(const PendingInterrupts&) = delete;
    PendingInterrupts& operator=(const PendingInterrupts&) = delete;
    /// Moves with its greenlet's record (greenlet_record.hpp). The queued
    /// Timeouts link among themselves and name their owner greenlet, never
    /// this object, so nothing points back here.
    PendingInterrupts(PendingInterrupts&& o) noexcept
        : slot_(std::move(o.slot_)),
          slot_timeout_(o.slot_timeout_),
          queue_head_(o.queue_head_),
          queue_tail_(o.queue_tail_) {
        o.slot_timeout_ = o.queue_head_ = o.queue_tail_ = nullptr;
    }
    ~PendingInterrupts() { clear(); }

    /// Something is to be thrown at the greenlet's next blocking point.
    bool any() const noexcept { return static_cast<bool>(slot_.error); }
    /// That something is a kill.
    bool kill() const noexcept { return any() && slot_.source == kKillSource && !slot_timeout_; }
    const std::exception_ptr& error() const noexcept { return slot_.error; }

    /// The way in for kills, signals and interrupts a hook gives back.
    /// Returns whether `i` is now the one to throw.
    bool deliver(Interrupt i) noexcept;
    /// The way in for a Timeout that fired: into the slot, or queued behind it.
    /// Returns whether its error is now the one to throw.
    bool deliver(Timeout& t) noexcept;
    /// Takes the interrupt to throw now (or to hold, in a hook); the first
    /// queued Timeout moves up.
    Interrupt take() noexcept;
    /// The interrupt from `source` is void (its guard is gone, the signal
    /// wait ended): dropped if it is the one waiting.
    void withdraw(std::uint64_t source) noexcept {
        if (any() && slot_.source == source) [[unlikely]]
            (void)take();
    }
    /// `t` is cancelled: out of the slot and the queue.
    void withdraw(Timeout& t) noexcept;
    /// At death: all go (queued Timeouts forget this greenlet).
    void clear() noexcept {
        if (slot_.error || queue_head_) [[unlikely]]  // slot_timeout_ is set only with slot_.error
            clear_slow();
    }

private:
    void clear_slow() noexcept;
    void fill_from_queue() noexcept;
    void push_front(Timeout& t) noexcept;
    Interrupt slot_;
    Timeout* slot_timeout_ = nullptr;  // the Timeout whose error is in the slot (null: none, or unknown)
    Timeout* queue_head_ = nullptr;    // fired Timeouts waiting for the slot, linked through them
    Timeout* queue_tail_ = nullptr;
};

}  // namespace grove::detail
