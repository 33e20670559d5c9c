// The hub's timer heap (lib/core/timers.hpp), on its own: whatever the mix of
// arms and cancels, the earliest timer is the one with the smallest due, and
// among equal dues the first armed — checked against std::set after every step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "timers.hpp"

namespace grove::detail {
namespace {

/// The model: (due, armed order) of every armed timer, and which timer each is.
struct Model {
    std::set<std::pair<std::int64_t, std::uint64_t>> keys;
    std::vector<std::int64_t> due;  // per timer, while armed
};

/// Arms timers[i] for `due`, in the heap and in the model.
void arm(TimerHeap& heap, Model& m, std::vector<HubTimer>& timers, std::size_t i, std::int64_t due) {
    HubTimer& t = timers[i];
    heap.push(t, due);
    ASSERT_TRUE(t.armed());
    ASSERT_TRUE(m.keys.emplace(due, t.order).second);
    m.due[i] = due;
}

/// Removes the heap's top, as the hub does when it fires, checking that it is
/// the model's earliest (due, armed order) and that the heap's bookkeeping follows.
void remove_earliest(TimerHeap& heap, Model& m, std::vector<HubTimer>& timers) {
    ASSERT_FALSE(m.keys.empty());
    const auto [due, order] = *m.keys.begin();
    HubTimer& top = heap.top();
    ASSERT_EQ(heap.top_due(), due);
    ASSERT_EQ(top.order, order);
    ASSERT_EQ(heap.due(top), m.due[static_cast<std::size_t>(&top - timers.data())]);
    m.keys.erase(m.keys.begin());
    heap.remove(top);
    ASSERT_FALSE(top.armed());
    ASSERT_EQ(heap.size(), m.keys.size());
}

/// Empties the heap from its top, checking that timers come out in (due,
/// armed order) order.
void drain_in_order(TimerHeap& heap, Model& m, std::vector<HubTimer>& timers) {
    while (!heap.empty()) ASSERT_NO_FATAL_FAILURE(remove_earliest(heap, m, timers));
    EXPECT_TRUE(m.keys.empty());
}

TEST(TimerHeap, KeepsDueThenArmedOrderUnderRandomArmAndCancel) {
    // Few distinct dues, so that ties (fired first-armed first) are common, and
    // up to ~3000 timers armed at once: six levels of a 4-ary heap, and growth.
    constexpr std::size_t kTimers = 3000;
    std::vector<HubTimer> timers(kTimers);
    TimerHeap heap;
    Model m;
    m.due.assign(kTimers, 0);
    std::mt19937_64 rng(12345);
    for (int step = 0; step < 200000; ++step) {
        HubTimer& t = timers[rng() % kTimers];
        const auto i = static_cast<std::size_t>(&t - timers.data());
        const auto roll = rng() % 8;
        if (!t.armed() && roll < 5) {
            ASSERT_NO_FATAL_FAILURE(arm(heap, m, timers, i, static_cast<std::int64_t>(rng() % 500) - 100));
        } else if (t.armed()) {
            ASSERT_EQ(heap.due(t), m.due[i]);
            ASSERT_EQ(m.keys.erase({m.due[i], t.order}), 1u);
            heap.remove(t);
            ASSERT_FALSE(t.armed());
        } else if (!heap.empty()) {  // fire the earliest, as the hub does
            ASSERT_NO_FATAL_FAILURE(remove_earliest(heap, m, timers));
        }
        ASSERT_EQ(heap.size(), m.keys.size());
        if (!heap.empty()) {
            ASSERT_EQ(heap.top_due(), m.keys.begin()->first);
            ASSERT_EQ(heap.top().order, m.keys.begin()->second);
        }
    }
    drain_in_order(heap, m, timers);
}

TEST(TimerHeap, TiesComeOutInTheOrderTheyWereArmed) {
    std::vector<HubTimer> timers(100);
    std::vector<HubTimer*> arming;
    for (auto& t : timers) arming.push_back(&t);
    std::shuffle(arming.begin(), arming.end(), std::mt19937_64(3));
    TimerHeap heap;
    // All due at once, armed in shuffled order: they must come out in arming
    // order, not by address or by slot.
    for (HubTimer* t : arming) heap.push(*t, 7);
    for (HubTimer* t : arming) {
        ASSERT_EQ(&heap.top(), t);
        heap.remove(heap.top());
    }
    EXPECT_TRUE(heap.empty());
}

TEST(TimerHeap, CountsReferencedTimersAndReportsTheFirstAndTheLast) {
    std::vector<HubTimer> timers(4);
    timers[3].referenced = false;
    TimerHeap heap;
    EXPECT_FALSE(heap.push(timers[3], 1));  // unreferenced: not counted
    EXPECT_EQ(heap.referenced(), 0);
    EXPECT_TRUE(heap.push(timers[0], 2));  // the first referenced one
    EXPECT_FALSE(heap.push(timers[1], 3));
    EXPECT_FALSE(heap.push(timers[2], 4));
    EXPECT_EQ(heap.referenced(), 3);
    EXPECT_FALSE(heap.remove(timers[1]));
    EXPECT_FALSE(heap.remove(timers[3]));
    EXPECT_FALSE(heap.remove(timers[0]));
    EXPECT_EQ(heap.referenced(), 1);
    EXPECT_TRUE(heap.remove(timers[2]));  // the last referenced one
    EXPECT_EQ(heap.referenced(), 0);
    EXPECT_TRUE(heap.empty());
}

TEST(TimerHeap, ShiftMovesEveryDueAndKeepsTheOrder) {
    constexpr std::size_t kTimers = 500;
    std::vector<HubTimer> timers(kTimers);
    TimerHeap heap;
    Model m;
    m.due.assign(kTimers, 0);
    std::mt19937_64 rng(7);
    for (std::size_t i = 0; i < kTimers; ++i)
        ASSERT_NO_FATAL_FAILURE(arm(heap, m, timers, i, static_cast<std::int64_t>(rng() % 1000)));
    constexpr std::int64_t kDelta = -1'000'000'007;
    heap.shift(kDelta);
    Model shifted;
    shifted.due.assign(kTimers, 0);
    for (std::size_t i = 0; i < kTimers; ++i) {
        shifted.keys.emplace(m.due[i] + kDelta, timers[i].order);
        shifted.due[i] = m.due[i] + kDelta;
    }
    drain_in_order(heap, shifted, timers);
}

}  // namespace
}  // namespace grove::detail
