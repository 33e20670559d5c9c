// grove-sync internal — the item containers behind Queue, LifoQueue and
// PriorityQueue. Each offers push (a put), pop/front (the next get), and
// push_next (put back so that it is the very next get: how an item handed to
// a getter that died on the way is returned).
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

namespace grove::detail {

template <class T>
class FifoStore {
public:
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& x) { items_.push_back(std::move(x)); }
    void push_next(T&& x) { items_.push_front(std::move(x)); }
    T& front() { return items_.front(); }
    T pop() {
        T x = std::move(items_.front());
        items_.pop_front();
        return x;
    }
    void clear() { items_.clear(); }

private:
    std::deque<T> items_;
};

template <class T>
class LifoStore {
public:
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& x) { items_.push_back(std::move(x)); }
    void push_next(T&& x) { items_.push_back(std::move(x)); }
    T& front() { return items_.back(); }
    T pop() {
        T x = std::move(items_.back());
        items_.pop_back();
        return x;
    }
    void clear() { items_.clear(); }

private:
    std::vector<T> items_;
};

/// A binary heap; front() is the smallest by Compare (as gevent's heapq).
template <class T, class Compare>
class HeapStore {
public:
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& x) {
        items_.push_back(std::move(x));
        std::push_heap(items_.begin(), items_.end(), greater());
    }
    void push_next(T&& x) { push(std::move(x)); }
    T& front() { return items_.front(); }
    T pop() {
        std::pop_heap(items_.begin(), items_.end(), greater());
        T x = std::move(items_.back());
        items_.pop_back();
        return x;
    }
    void clear() { items_.clear(); }

private:
    auto greater() const {
        return [this](const T& a, const T& b) { return compare_(b, a); };
    }
    std::vector<T> items_;
    Compare compare_{};
};

}  // namespace grove::detail
