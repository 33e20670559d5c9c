// grove — Group: a set of greenlets tracked, joined and killed together (gevent.pool.Group).
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <ranges>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <grove/duration.hpp>
#include <grove/greenlet.hpp>
#include <grove/spawner.hpp>
#include <grove/waiter.hpp>

namespace grove {

template <class F, class Item>
class IMap;

/// Greenlets that belong together. A member leaves by itself when it dies
/// (on the next hub turn), or by discard(). A member that fails is reported
/// as usual (the core does it) and does not disturb the others.
///
/// Single-threaded: all members on the hub thread that runs the greenlets.
/// Destroying the group forgets its members (they keep running).
class Group : public Spawner {
public:
    Group() = default;
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;
    ~Group() override;

    /// Spawns `f(args...)` as a member and returns it, started. A Pool first
    /// waits for a free slot: that wait may switch and is interrupted by
    /// kill() and grove::Timeout (a slot handed to a killed spawner passes on).
    template <class F, class... Args>
    Ref<Greenlet<detail::spawn_result_t<F, Args...>>> spawn(F&& f, Args&&... args) {
        acquire_slot(true, std::nullopt);
        try {
            auto g = grove::spawn(std::forward<F>(f), std::forward<Args>(args)...);
            insert(g);
            return g;
        } catch (...) {
            release_slot();
            throw;
        }
    }
    Ref<Greenlet<void>> spawn_task(std::function<void()> fn) override { return spawn(std::move(fn)); }

    /// Adds a greenlet (started or not). A Pool waits for a slot, as spawn()
    /// does, and throws QueueFull if none came in time. No-op for a member.
    void add(const Ref<GreenletBase>& g, bool block = true, std::optional<Duration> timeout = {});
    /// Removes a member (releasing its Pool slot); no-op for a non-member. Never switches.
    void discard(const GreenletBase* g) noexcept;
    /// Whether `g` is a member. Never switches.
    bool contains(const GreenletBase* g) const noexcept { return members_.count(g) != 0; }
    /// How many members.
    std::size_t size() const noexcept { return members_.size(); }
    /// Whether it has no member; the members now (Refs keep them alive). Never switch.
    /// @{
    bool empty() const noexcept { return members_.empty(); }
    std::vector<Ref<GreenletBase>> greenlets() const;
    /// @}

    /// Blocks until the group is empty or `timeout` passes; returns whether it
    /// became empty. With `raise_error`, then rethrows the first error a member
    /// died of since the last such join. May switch; kill/Timeout interrupt it.
    bool join(std::optional<Duration> timeout = {}, bool raise_error = false);

    /// Kills every member with `e` (empty: GreenletExit), each once: a member
    /// an earlier kill() already shot is not shot again while it stays in the
    /// group (gevent's Group keeps a "dying" set), so a member that swallows
    /// the exit is not hit a second time. The calling greenlet, if a member,
    /// is skipped. With `block`, waits (up to `timeout`, then returns quietly,
    /// as gevent's Group.kill) for the members to die, shooting members that
    /// join meanwhile; those that died have left the group when it returns.
    /// May switch when blocking; kill/Timeout interrupt the wait (nobody is
    /// shot twice for it).
    void kill(std::exception_ptr e = {}, bool block = true, std::optional<Duration> timeout = {});

    /// Members that could still be added without waiting (unbounded for a Group).
    virtual std::size_t free_count() const noexcept { return std::numeric_limits<std::size_t>::max(); }
    /// free_count() == 0: a spawn() would wait.
    bool full() const noexcept { return free_count() == 0; }
    /// Blocks until free_count() > 0 or `timeout` passes; returns whether a
    /// slot is free. Never blocks for a Group. kill/Timeout interrupt it.
    virtual bool wait_available(std::optional<Duration> timeout = {});

    /// Runs `f(args...)` in a member and returns its result (rethrowing its
    /// error); called from a member, runs it inline (as gevent does, so a full
    /// Pool cannot deadlock on itself). May switch.
    template <class F, class... Args>
    detail::spawn_result_t<F, Args...> apply(F&& f, Args&&... args) {
        using R = detail::spawn_result_t<F, Args...>;
        if (contains(getcurrent())) return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
        auto outcome = spawn(std::forward<F>(f), std::forward<Args>(args)...)->get();
        if constexpr (std::is_void_v<R>) {
            if (outcome.exited()) std::rethrow_exception(outcome.exit());
        } else {
            return std::move(outcome.value());
        }
    }

    /// Calls `f(item)` for each item of `items` in members (as many at a time
    /// as the Pool allows) and iterates the results lazily, in input order.
    /// The items are copied up front. A failed call rethrows its error when
    /// reached. Destroying the IMap kills the calls still running.
    template <class F, class Range>
    IMap<std::decay_t<F>, std::ranges::range_value_t<Range>> imap(F&& f, const Range& items) {
        return {*this, std::forward<F>(f), items, true};
    }
    /// imap(), yielding results in the order the calls finish.
    template <class F, class Range>
    IMap<std::decay_t<F>, std::ranges::range_value_t<Range>> imap_unordered(F&& f, const Range& items) {
        return {*this, std::forward<F>(f), items, false};
    }
    /// All results of imap(), in input order. The first error is rethrown
    /// (the calls still running are killed).
    template <class F, class Range>
    auto map(F&& f, const Range& items) {
        auto results = imap(std::forward<F>(f), items);
        std::vector<std::decay_t<decltype(*results.begin())>> out;
        for (auto& r : results) out.push_back(std::move(r));
        return out;
    }

protected:
    /// The size policy: take a slot before a member joins (false: none in
    /// time), give it back when one leaves. Group: always a slot.
    /// @{
    virtual bool acquire_slot(bool, std::optional<Duration>) { return true; }
    virtual void release_slot() noexcept {}
    /// @}

private:
    struct Member {
        Ref<GreenletBase> greenlet;
        GreenletBase::LinkId link;
    };
    void insert(const Ref<GreenletBase>& g);
    void on_death(GreenletBase& g) noexcept;

    std::unordered_map<const GreenletBase*, Member> members_;
    std::unordered_set<const GreenletBase*> dying_;  // members kill() has shot; a subset of members_
    WaitList empty_waiters_;                         // join() waiters, all woken when members_ becomes empty
    std::exception_ptr first_error_;
};

}  // namespace grove

#include <grove/sync/imap.hpp>

namespace grove {

template <class F, class Item>
bool IMap<F, Item>::group_free() const {
    return group_.free_count() > 0;
}

template <class F, class Item>
void IMap<F, Item>::spawn_next() {
    const std::size_t i = next_input_;
    auto task = group_.spawn([this, i] { return f_(std::move(items_[i])); });
    ++next_input_;
    ++in_flight_;
    task->link([done = done_, i](GreenletBase&) { done->put_nowait(i); });
    tasks_[i] = std::move(task);
}

}  // namespace grove
