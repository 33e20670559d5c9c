// grove — IMap: the lazy result sequence of Group::imap / imap_unordered.
#pragma once

#include <cstddef>
#include <deque>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/sync/queue.hpp>

namespace grove {

class Group;

/// Calls of `F` on each Item, run as members of a Group (or Pool), whose
/// results are iterated (input order, or completion order when unordered).
///
/// The consumer drives it: each step first spawns calls while the group has
/// free slots, then waits for one to finish. Iterating may switch and is
/// interrupted by kill() and grove::Timeout (nothing is lost: a finished
/// result stays until it is yielded). A call that failed rethrows its error
/// from the step that reaches it; iteration may continue past it. Destroying
/// the IMap kills the calls still running (and waits for them). Create,
/// iterate and destroy it in one greenlet; the Group must outlive it.
template <class F, class Item>
class IMap {
public:
    /// The result type of `f(item)`.
    using R = std::invoke_result_t<F&, Item>;
    static_assert(!std::is_void_v<R>, "grove::Group::imap/map: the function must return a value");

    template <class G, class Range>
    /// Made by Group::imap() / imap_unordered(): copies `items`; starts nothing until
    /// iterated. Never switches.
    IMap(Group& group, G&& f, const Range& items, bool ordered)
        : group_(group),
          f_(std::forward<G>(f)),
          items_(std::begin(items), std::end(items)),
          tasks_(items_.size()),
          finished_(items_.size(), false),
          done_(std::make_shared<Queue<std::size_t>>()),
          ordered_(ordered) {}
    IMap(const IMap&) = delete;
    IMap& operator=(const IMap&) = delete;
    ~IMap() {
        std::vector<Ref<GreenletBase>> running;
        for (auto& t : tasks_)
            if (t && !t->dead()) running.push_back(t);
        if (!running.empty()) killall(running);
    }

    /// The next result, or nullopt when all were yielded.
    std::optional<R> next() {
        for (;;) {
            fill();
            if (ordered_) {
                if (next_yield_ == items_.size()) return std::nullopt;
                if (finished_[next_yield_]) return result_of(next_yield_++);
            } else {
                if (!ready_.empty()) {
                    const std::size_t i = ready_.front();
                    ready_.pop_front();
                    return result_of(i);
                }
                if (yielded_ == items_.size()) return std::nullopt;
            }
            if (in_flight_ == 0) {
                spawn_next();
                continue;
            }
            const std::size_t i = done_->get();
            finished_[i] = true;
            --in_flight_;
            if (!ordered_) ready_.push_back(i);
        }
    }

    /// An input iterator over next()'s results: `*it` is the current result; `++it`
    /// waits for the next (may switch; rethrows a failed call's error); it equals end()
    /// when all were yielded.
    class iterator {
    public:
        /// Constructed by begin(); the usual input-iterator members.
        /// @{
        using value_type = R;
        using difference_type = std::ptrdiff_t;
        explicit iterator(IMap* m) : m_(m) { current_ = m_->next(); }
        R& operator*() const { return *current_; }
        iterator& operator++() {
            current_.reset();
            current_ = m_->next();
            return *this;
        }
        void operator++(int) { ++*this; }
        bool operator==(std::default_sentinel_t) const noexcept { return !current_; }
        /// @}

    private:
        IMap* m_;
        mutable std::optional<R> current_;
    };
    /// begin() waits for the first result (may switch); end() is a sentinel.
    /// @{
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const noexcept { return {}; }
    /// @}

private:
    void fill() {
        while (next_input_ < items_.size() && group_free()) spawn_next();
    }
    bool group_free() const;
    void spawn_next();

    std::optional<R> result_of(std::size_t i) {
        ++yielded_;
        auto task = std::move(tasks_[i]);
        auto outcome = task->get();
        return std::optional<R>(std::move(outcome.value()));
    }

    Group& group_;
    F f_;
    std::vector<Item> items_;
    std::vector<Ref<Greenlet<R>>> tasks_;
    std::vector<bool> finished_;
    std::shared_ptr<Queue<std::size_t>> done_;  // indices of finished calls; shared with their links
    std::deque<std::size_t> ready_;             // unordered: finished, not yet yielded
    std::size_t next_input_ = 0;
    std::size_t next_yield_ = 0;
    std::size_t yielded_ = 0;
    std::size_t in_flight_ = 0;
    bool ordered_;
};

}  // namespace grove
