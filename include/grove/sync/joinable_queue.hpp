// grove — JoinableQueue: a Queue that counts unfinished tasks (gevent.queue.JoinableQueue).
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>

#include <grove/duration.hpp>
#include <grove/sync/queue.hpp>

namespace grove {

/// A FIFO Queue whose every successful put() adds an unfinished task; a
/// consumer calls task_done() once per item it finished; join() waits until
/// no task is unfinished.
template <class T>
class JoinableQueue : public Queue<T> {
public:
    /// `maxsize` empty (or 0): unbounded. Never switches.
    explicit JoinableQueue(std::optional<std::size_t> maxsize = std::nullopt) : Queue<T>(maxsize) {}

    /// Marks one task finished; the last one wakes every join(). Never
    /// switches. std::logic_error when called more times than items were put.
    void task_done() {
        if (this->unfinished_ == 0)
            throw std::logic_error("grove::JoinableQueue::task_done: called more times than items were put");
        if (--this->unfinished_ == 0) this->joiners_.notify_all();
    }

    /// Blocks until every task is done or `timeout` passes; returns whether
    /// the count reached zero. May switch; kill/Timeout interrupt it (nothing
    /// to lose: the wake-up is a broadcast).
    bool join(std::optional<Duration> timeout = {}) {
        if (this->unfinished_ == 0) return true;
        WaitSite<> site("JoinableQueue.join", this);  // on the heap for a compact joiner
        this->joiners_.push_back(site.node());
        return site.waiter().wait(timeout);
    }

    /// Tasks put and not yet marked task_done().
    std::size_t unfinished_tasks() const noexcept { return this->unfinished_; }
};

}  // namespace grove
