// grove-sync — RLock. Ownership transfer between greenlets goes through the
// inner Semaphore, so FIFO order and the kill-safety of a handed-over permit
// come from there; owner_ is only ever set by the greenlet that now holds it.
#include <stdexcept>

#include <grove/greenlet.hpp>
#include <grove/sync/lock.hpp>

namespace grove {

bool RLock::acquire(bool block, std::optional<Duration> timeout) {
    GreenletBase* me = getcurrent();
    if (owner_ == me) {
        ++count_;
        return true;
    }
    if (!block_.acquire(block, timeout)) return false;
    owner_ = me;
    count_ = 1;
    return true;
}

void RLock::release() {
    if (owner_ != getcurrent())
        throw std::logic_error(owner_ ? "grove::RLock::release: the lock is owned by another greenlet"
                                      : "grove::RLock::release: the lock is not acquired");
    if (--count_ > 0) return;
    owner_ = nullptr;
    block_.release();
}

}  // namespace grove
