// grove — waiting on several objects at once: Waitable, wait(), iwait().
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include <grove/duration.hpp>
#include <grove/waiter.hpp>

namespace grove {

/// Something that greenlets wait on until it becomes ready, and that wakes all
/// of them when it does (gevent's AbstractLinkable): a Greenlet (ready = dead),
/// an Event (ready = set), an AsyncResult (ready = has a value or an error).
/// Subclasses call notify_ready() whenever ready() turns true.
class Waitable {
public:
    Waitable() = default;
    Waitable(const Waitable&) = delete;
    Waitable& operator=(const Waitable&) = delete;
    virtual ~Waitable() = default;

    /// Whether a wait on it would return at once (a dead greenlet, a set Event, a
    /// filled AsyncResult). Never switches.
    virtual bool ready() const = 0;
    /// The greenlets waiting for ready(). Primitives link WaitNodes here.
    WaitList& waiters() noexcept { return waiters_; }

protected:
    /// Wakes every waiter. Never switches.
    void notify_ready() noexcept { waiters_.notify_all(); }

private:
    WaitList waiters_;
};

/// Yields objects as they become ready, in the order they did (those ready at
/// the start first, in input order). Non-template core of grove::iwait.
/// Create and iterate it in one greenlet.
class IWait {
public:
    /// Watches `objects` (which must outlive it); `timeout` bounds the whole iteration,
    /// `count` the number of objects yielded (default: all). std::invalid_argument for
    /// a NaN timeout. Never switches.
    IWait(std::vector<Waitable*> objects, std::optional<Duration> timeout = {}, std::optional<std::size_t> count = {});
    IWait(const IWait&) = delete;
    IWait& operator=(const IWait&) = delete;
    ~IWait();

    /// Blocks until the next object is ready; returns its index in the input,
    /// or nullopt once `count` objects (default: all) were yielded or the
    /// timeout passed. May switch; kill and Timeout interrupt it.
    std::optional<std::size_t> next();

private:
    struct Node;
    std::vector<Waitable*> objects_;
    std::optional<Deadline> deadline_;
    std::size_t remaining_;
    std::vector<std::size_t> fired_;
    std::size_t fired_pos_ = 0;
    std::vector<std::unique_ptr<Node>> nodes_;
    std::unique_ptr<Waiter> waiter_;
};

namespace detail {
template <class T>
Waitable& as_waitable(T& x) {
    if constexpr (std::is_base_of_v<Waitable, std::remove_cv_t<T>>)
        return const_cast<std::remove_cv_t<T>&>(x);
    else
        return *x;  // Ref<...>, raw pointers, reference_wrapper-like handles
}
}  // namespace detail

/// Iterates `objects` (a range of Refs, pointers or Waitables) as they become
/// ready. Like gevent.iwait: `for (auto& g : grove::iwait(greenlets)) ...`.
template <class Range>
class IWaitRange {
public:
    /// The range's element type (a Ref, a pointer or a Waitable), as yielded.
    using Element = std::remove_cv_t<std::remove_reference_t<decltype(*std::begin(std::declval<Range&>()))>>;

    /// Copies the elements of `objects` (Refs keep their greenlets alive); see IWait
    /// for `timeout` and `count`. Never switches.
    IWaitRange(const Range& objects, std::optional<Duration> timeout, std::optional<std::size_t> count)
        : objects_(std::begin(objects), std::end(objects)), core_(pointers(objects_), timeout, count) {}

    /// An input iterator: each increment blocks for the next ready object
    /// (IWait::next()); it equals end() once no more will come.
    class iterator {
    public:
        /// Constructed by begin()/end(); `*it` is the ready element, `++it` waits for
        /// the next (may switch; kill and Timeout interrupt it).
        /// @{
        explicit iterator(IWaitRange* r) : range_(r) { advance(); }
        iterator() = default;
        const Element& operator*() const { return range_->objects_[*index_]; }
        iterator& operator++() {
            advance();
            return *this;
        }
        bool operator==(const iterator& o) const { return index_.has_value() == o.index_.has_value(); }
        bool operator!=(const iterator& o) const { return !(*this == o); }
        /// @}

    private:
        void advance() { index_ = range_->core_.next(); }
        IWaitRange* range_ = nullptr;
        std::optional<std::size_t> index_;
    };
    /// begin() waits for the first ready object (may switch); end() is the past-the-end
    /// iterator.
    /// @{
    iterator begin() { return iterator(this); }
    iterator end() { return iterator(); }
    /// @}

private:
    static std::vector<Waitable*> pointers(std::vector<Element>& v) {
        std::vector<Waitable*> out;
        out.reserve(v.size());
        for (auto& x : v) out.push_back(&detail::as_waitable(x));
        return out;
    }
    std::vector<Element> objects_;
    IWait core_;
};

template <class Range>
IWaitRange<Range> iwait(const Range& objects, std::optional<Duration> timeout = {},
                        std::optional<std::size_t> count = {}) {
    return IWaitRange<Range>(objects, timeout, count);
}

/// iwait() over a braced list: `for (auto& g : grove::iwait({a, b})) ...`.
template <class T>
IWaitRange<std::initializer_list<T>> iwait(std::initializer_list<T> objects, std::optional<Duration> timeout = {},
                                           std::optional<std::size_t> count = {}) {
    return IWaitRange<std::initializer_list<T>>(objects, timeout, count);
}

/// Waits until `count` of `objects` (default: all) are ready or the timeout
/// passes; returns the ready ones in the order they became ready (gevent.wait).
template <class Range>
auto wait(const Range& objects, std::optional<Duration> timeout = {}, std::optional<std::size_t> count = {}) {
    std::vector<typename IWaitRange<Range>::Element> out;
    for (auto& x : iwait(objects, timeout, count)) out.push_back(x);
    return out;
}

/// wait() over a braced list of one element type: `grove::wait({a, b})`.
template <class T>
std::vector<T> wait(std::initializer_list<T> objects, std::optional<Duration> timeout = {},
                    std::optional<std::size_t> count = {}) {
    return wait<std::initializer_list<T>>(objects, timeout, count);
}

}  // namespace grove
