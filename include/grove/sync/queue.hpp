// grove — Queue, LifoQueue, PriorityQueue (gevent.queue): greenlet-safe
// producer/consumer queues with optional bounds, shutdown and kill-safe waits.
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>

#include <grove/duration.hpp>
#include <grove/exceptions.hpp>
#include <grove/sync/detail/queue_store.hpp>
#include <grove/waiter.hpp>

namespace grove {

/// The queue machinery shared by Queue, LifoQueue, PriorityQueue,
/// JoinableQueue and Channel; `Store` decides which item a get() returns.
///
/// Hand-over. A put() while greenlets wait in get() gives its item straight to
/// the first of them; a get() that frees room moves the first waiting putter's
/// item in. Both waits are FIFO. A Channel's blocking put() always parks: the
/// first waiting getter takes the item from the putter's hands when it runs,
/// and the putter continues after it (gevent's Channel).
///
/// Nothing lost, nothing twice: delivered => returns normally, thrown => not
/// delivered. A getter handed an item that is killed (or whose
/// grove::Timeout fires) before it resumes passes the item on: to the next
/// waiting getter, else back to the front (the next item get() returns, even
/// if that briefly exceeds maxsize). A putter whose item was taken returns
/// normally, even if a kill or Timeout reached it in the same hub turn (that
/// one is thrown at its next blocking point); a put() that throws has not put
/// its item, so retrying it never duplicates the item.
///
/// T may be move-only; its move constructor should not throw. Single-threaded:
/// every member on the thread of the greenlets' hub. Blocking members may
/// switch (greenlets only; std::logic_error on the hub), are interrupted by
/// kill() and grove::Timeout, and throw LoopExit when nothing can ever wake them.
template <class T, class Store>
class BasicQueue {
public:
    BasicQueue(const BasicQueue&) = delete;
    BasicQueue& operator=(const BasicQueue&) = delete;
    ~BasicQueue() = default;

    /// Adds `item`, waiting while the queue is full. Without `block`, or with a
    /// `timeout` of zero or below, it does not wait. Throws QueueFull when no
    /// room came in time, QueueShutDown after shutdown() (also while waiting).
    void put(T item, bool block = true, std::optional<Duration> timeout = {}) {
        if (shut_) throw QueueShutDown();
        const bool no_wait = !block || (timeout && !(timeout->count() > 0));
        if (timeout && timeout->count() != timeout->count())
            throw std::invalid_argument("grove: Queue.put: timeout is NaN");
        // A Channel hands over without parking only when it may not wait.
        if ((capacity_ > 0 || no_wait) && give(item)) return;
        if (!block) throw QueueFull();
        // A compact putter's node (and the item, moved into it) live on the
        // heap: the getter that takes the item may run while it is copied out.
        WaitSite<Putter> site("Queue.put", this, item);
        Waiter& waiter = site.waiter();
        Putter& node = site.node();
        if (site.on_heap()) [[unlikely]]
            node.item = &node.owned.emplace(std::move(item));
        putters_.push_back(node);
        signal_getter();
        peekers_.notify_all();
        // Taken means woken by wake_final(): no kill or Timeout can make this
        // throw any more (delivered => returns normally).
        if (!waiter.wait(timeout)) throw QueueFull();
        if (node.shut) throw QueueShutDown();
    }
    /// put(item, false): puts without waiting; QueueFull if there is no room (a
    /// Channel: no getter waiting).
    void put_nowait(T item) { put(std::move(item), false); }

    /// Removes and returns the next item, waiting while there is none.
    /// Throws QueueEmpty when none came in time (or at once without `block`),
    /// QueueShutDown once shut down and drained (also while waiting).
    T get(bool block = true, std::optional<Duration> timeout = {}) {
        if (auto x = take()) return std::move(*x);
        if (shut_) throw QueueShutDown();
        if (!block) throw QueueEmpty();
        const auto deadline = detail::deadline_after(timeout, "Queue.get");
        WaitSite<Getter> site("Queue.get", this);  // on the heap for a compact getter
        Waiter& waiter = site.waiter();
        Getter& node = site.node();
        getters_.push_back(node);
        for (;;) {
            bool woken = false;
            try {
                woken = waiter.wait_until(deadline);
            } catch (...) {
                if (node.item) pass_on(std::move(*node.item));
                if (node.signalled) {
                    --promised_;
                    signal_getter();  // the putter that signalled us is still there: the next getter takes it
                }
                throw;
            }
            if (!woken) throw QueueEmpty();
            if (node.item) return std::move(*node.item);
            if (!node.signalled) throw QueueShutDown();
            // A Channel putter signalled us; take its item now that we run.
            node.signalled = false;
            --promised_;
            if (auto x = take()) return std::move(*x);
            if (shut_) throw QueueShutDown();
            // It left (killed, timed out) before we ran: first in line again.
            waiter.reset();
            getters_.push_front(node);
        }
    }
    /// get(false): an item if one is there now, else QueueEmpty (QueueShutDown once
    /// shut down and drained). Never switches.
    T get_nowait() { return get(false); }

    /// The item get() would return next, left in place; waits as get() does
    /// and throws the same. The reference is valid until the queue changes.
    const T& peek(bool block = true, std::optional<Duration> timeout = {}) {
        const auto deadline = detail::deadline_after(timeout, "Queue.peek");
        for (;;) {
            if (store_.size() > 0) return store_.front();
            if (auto* p = static_cast<Putter*>(putters_.front())) return *p->item;
            if (shut_) throw QueueShutDown();
            if (!block) throw QueueEmpty();
            WaitSite<> site("Queue.peek", this);
            peekers_.push_back(site.node());
            if (!site.waiter().wait_until(deadline)) throw QueueEmpty();
        }
    }
    /// peek(false): the next item if there is one now, else QueueEmpty. Never switches.
    const T& peek_nowait() { return peek(false); }

    /// Refuses later puts (QueueShutDown) and wakes every waiting putter and
    /// getter with QueueShutDown; items already queued can still be got, then
    /// get() throws QueueShutDown. Idempotent. Never switches.
    void shutdown() noexcept {
        shut_ = true;
        while (auto* g = static_cast<Getter*>(getters_.pop_front())) {
            g->shut = true;
            g->notify();
        }
        while (auto* p = static_cast<Putter*>(putters_.pop_front())) {
            p->shut = true;
            p->notify();
        }
        peekers_.notify_all();
    }
    /// Whether shutdown() was called.
    bool is_shutdown() const noexcept { return shut_; }

    /// Items held (a Channel holds none: its items pass from hand to hand).
    std::size_t qsize() const noexcept { return store_.size(); }
    /// qsize() == 0; qsize() has reached maxsize() (always true for a Channel).
    /// @{
    bool empty() const noexcept { return qsize() == 0; }
    bool full() const noexcept { return qsize() >= capacity_; }
    /// @}

    /// The bound; nullopt when unbounded (0 for a Channel).
    std::optional<std::size_t> maxsize() const noexcept {
        return capacity_ == kUnbounded ? std::nullopt : std::optional<std::size_t>(capacity_);
    }
    /// Greenlets parked in get() / in put() right now (for tests and monitoring).
    /// @{
    std::size_t waiting_getters() const noexcept { return getters_.size(); }
    std::size_t waiting_putters() const noexcept { return putters_.size(); }
    /// @}

    /// Range-for support: `for (auto& item : queue)` gets items until the
    /// queue is shut down and drained (blocking in between, like get()).
    class iterator {
    public:
        /// An input iterator over get()'s items; end() is reached at QueueShutDown.
        /// @{
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        explicit iterator(BasicQueue* q) : q_(q) { advance(); }
        T& operator*() const { return *item_; }
        iterator& operator++() {
            advance();
            return *this;
        }
        void operator++(int) { advance(); }
        bool operator==(std::default_sentinel_t) const noexcept { return !item_; }
        /// @}

    private:
        void advance() {
            item_.reset();
            try {
                item_.emplace(q_->get());
            } catch (const QueueShutDown&) {
            }
        }
        BasicQueue* q_;
        mutable std::optional<T> item_;
    };
    /// The range: begin() waits for the first item, end() is a sentinel.
    /// @{
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const noexcept { return {}; }
    /// @}

protected:
    /// The capacity stored for "no bound".
    static constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();
    /// `maxsize` empty or 0: unbounded (0 as in gevent; use Channel for a rendezvous).
    explicit BasicQueue(std::optional<std::size_t> maxsize)
        : capacity_(maxsize && *maxsize > 0 ? *maxsize : kUnbounded) {}
    struct Rendezvous {};
    /// A Channel: capacity 0, every put hands over to a getter.
    explicit BasicQueue(Rendezvous) : capacity_(0) {}

    std::size_t unfinished_ = 0;  ///< items put (handed over or stored), for JoinableQueue
    WaitList joiners_;            ///< JoinableQueue::join waiters

private:
    struct Getter final : WaitNode {
        using WaitNode::WaitNode;
        std::optional<T> item;   // set by the put()/pass_on() that woke it
        bool shut = false;       // woken by shutdown()
        bool signalled = false;  // woken by signal_getter(): take from a putter (Channel)
    };
    struct Putter final : WaitNode {
        Putter(Waiter& w, T& x) : WaitNode(w), item(&x) {}
        T* item;                 // the item, moved from when taken: the putter's argument, or `owned`
        std::optional<T> owned;  // a compact putter's item (its argument lies on its stack)
        bool shut = false;       // woken by shutdown(); otherwise woken means taken
    };

    bool give(T& item) {
        if (auto* g = static_cast<Getter*>(getters_.front())) {
            g->item.emplace(std::move(item));
            getters_.pop_front();
            g->notify();
        } else if (store_.size() < capacity_) {
            store_.push(std::move(item));
            peekers_.notify_all();
        } else {
            return false;
        }
        ++unfinished_;
        return true;
    }

    std::optional<T> take() {
        std::optional<T> x;
        if (store_.size() > 0) {
            x.emplace(store_.pop());
            while (store_.size() < capacity_ && !putters_.empty()) store_.push(take_from_putter());
        } else if (putters_.size() > promised_) {  // putters not promised to a signalled getter
            x.emplace(take_from_putter());
        }
        return x;
    }

    T take_from_putter() {
        auto* p = static_cast<Putter*>(putters_.front());
        T x = std::move(*p->item);
        putters_.pop_front();
        p->waiter().wake_final();  // its put() has delivered: it returns normally
        ++unfinished_;
        return x;
    }

    /// Channel: wakes the first waiting getter to take the first unpromised
    /// putter's item when it runs. (A Queue's getters wait only while it is
    /// empty, and a parked putter means it is full: a no-op there.)
    void signal_getter() noexcept {
        if (putters_.size() <= promised_) return;
        if (auto* g = static_cast<Getter*>(getters_.pop_front())) {
            g->signalled = true;
            ++promised_;
            g->notify();
        }
    }

    void pass_on(T&& item) {
        if (auto* g = static_cast<Getter*>(getters_.front())) {
            g->item.emplace(std::move(item));
            getters_.pop_front();
            g->notify();
            return;
        }
        store_.push_next(std::move(item));
        peekers_.notify_all();
    }

    Store store_;
    std::size_t capacity_;
    bool shut_ = false;
    WaitList getters_;          // Getter nodes; non-empty only while store_ is empty
    WaitList putters_;          // Putter nodes; non-empty only while store_ is full
    std::size_t promised_ = 0;  // signalled getters not yet resumed (Channel); take() leaves them that many putters
    WaitList peekers_;          // peek() waiters; all woken whenever an item may have appeared
};

/// FIFO queue. `maxsize` empty (or 0, as in gevent) means unbounded.
template <class T>
class Queue : public BasicQueue<T, detail::FifoStore<T>> {
public:
    /// `maxsize` empty (or 0): unbounded. Never switches.
    explicit Queue(std::optional<std::size_t> maxsize = std::nullopt) : BasicQueue<T, detail::FifoStore<T>>(maxsize) {}
};

/// LIFO queue: get() returns the most recently put item.
template <class T>
class LifoQueue : public BasicQueue<T, detail::LifoStore<T>> {
public:
    /// `maxsize` empty (or 0): unbounded. Never switches.
    explicit LifoQueue(std::optional<std::size_t> maxsize = std::nullopt)
        : BasicQueue<T, detail::LifoStore<T>>(maxsize) {}
};

/// Priority queue: get() returns the smallest item by `Compare` (gevent's heapq).
template <class T, class Compare = std::less<T>>
class PriorityQueue : public BasicQueue<T, detail::HeapStore<T, Compare>> {
public:
    /// `maxsize` empty (or 0): unbounded. Never switches.
    explicit PriorityQueue(std::optional<std::size_t> maxsize = std::nullopt)
        : BasicQueue<T, detail::HeapStore<T, Compare>>(maxsize) {}
};

}  // namespace grove
