// grove — Lock and RLock (gevent.lock).
#pragma once

#include <chrono>
#include <optional>

#include <grove/duration.hpp>
#include <grove/sync/detail/std_lockable.hpp>
#include <grove/sync/semaphore.hpp>

namespace grove {

class GreenletBase;

/// A mutual-exclusion lock for greenlets: a BoundedSemaphore(1). Not owned:
/// any greenlet may release it (as gevent.lock.Semaphore-based Lock);
/// releasing an unlocked Lock throws std::logic_error. FIFO and kill-safe as
/// Semaphore. Use it with std::lock_guard / std::unique_lock.
class Lock : public BoundedSemaphore {
public:
    Lock() : BoundedSemaphore(1) {}
};

/// A reentrant lock owned by a greenlet (gevent.lock.RLock): the owner may
/// acquire it again; it is free once released as many times as acquired.
///
/// acquire() may switch (greenlets only), is FIFO, and is interrupted by
/// kill() and grove::Timeout without losing the lock: ownership handed to a
/// waiter that dies before it resumes passes on to the next one.
/// release() by a greenlet that does not own it throws std::logic_error.
/// Meets the std Lockable / TimedLockable requirements.
class RLock : public detail::StdLockable<RLock> {
public:
    RLock() = default;
    RLock(const RLock&) = delete;
    RLock& operator=(const RLock&) = delete;

    /// Takes the lock (again, if the current greenlet owns it). Returns false
    /// when it did not get it in time (`block` false, or `timeout` passed).
    bool acquire(bool block = true, std::optional<Duration> timeout = {});
    /// Drops one level of ownership; the last one frees the lock (handing it
    /// to the first waiter). Never switches. std::logic_error if the current
    /// greenlet is not the owner.
    void release();
    /// Whether some greenlet owns it. Never switches.
    bool locked() const noexcept { return owner_ != nullptr || block_.locked(); }
    /// The owning greenlet, or nullptr.
    GreenletBase* owner() const noexcept { return owner_; }
    /// How many times the owner holds it.
    int count() const noexcept { return count_; }

private:
    Semaphore block_{1};
    GreenletBase* owner_ = nullptr;  // set by the greenlet that got block_, cleared by the last release()
    int count_ = 0;
};

}  // namespace grove
