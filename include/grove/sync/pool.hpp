// grove — Pool: a Group with a bound on how many members run at once (gevent.pool.Pool).
#pragma once

#include <cstddef>
#include <optional>

#include <grove/duration.hpp>
#include <grove/sync/group.hpp>
#include <grove/sync/semaphore.hpp>

namespace grove {

/// A Group of at most `capacity` members. spawn() and add() wait while it is
/// full, FIFO; a slot freed by a dying member goes to the first waiting
/// spawner, and passes on if that one is killed first. Usable wherever core
/// takes a grove::Spawner (e.g. to bound a StreamServer's connections).
class Pool : public Group {
public:
    /// std::invalid_argument if `capacity` is 0 (nothing could ever run).
    explicit Pool(std::size_t capacity);

    /// The bound (gevent's Pool.size).
    std::size_t capacity() const noexcept { return capacity_; }
    std::size_t free_count() const noexcept override { return static_cast<std::size_t>(slots_.counter()); }
    bool wait_available(std::optional<Duration> timeout = {}) override { return slots_.wait(timeout); }

protected:
    bool acquire_slot(bool block, std::optional<Duration> timeout) override { return slots_.acquire(block, timeout); }
    void release_slot() noexcept override;

private:
    std::size_t capacity_;
    Semaphore slots_;
};

}  // namespace grove
