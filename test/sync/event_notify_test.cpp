// Event::wait() on an Event that is set but still waking earlier waiters
// returns after those waiters have run (gevent issue 1520,
// test__event.py test_wait_while_notifying).
#include <algorithm>
#include <chrono>
#include <vector>

#include <grove/deterministic.hpp>
#include <grove/greenlet.hpp>
#include <grove/sync/event.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;
using Event = grove::test::LeakChecked;

namespace {

void wait_then_append(grove::Event& ev, std::vector<int>& results, int arg) {
    ev.wait();
    results.push_back(arg);
}

}  // namespace

TEST_F(Event, WaitWhileNotifyingReturnsAfterTheEarlierWaitersRan) {
    grove::Event ev;
    std::vector<int> results;
    grove::spawn(wait_then_append, std::ref(ev), std::ref(results), 1);
    grove::spawn(wait_then_append, std::ref(ev), std::ref(results), 2);
    grove::idle();
    ev.set();
    wait_then_append(ev, results, 3);
    EXPECT_EQ(results, (std::vector<int>{1, 2, 3}));
}

TEST_F(Event, WaitWhileNotifyingHoldsUnderAnySeededRunOrder) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        SCOPED_TRACE(seed);
        grove::Deterministic mode({.seed = seed});
        grove::Event ev;
        std::vector<int> results;
        std::vector<grove::Ref<grove::GreenletBase>> gs;
        for (int i = 1; i <= 4; ++i) gs.push_back(grove::spawn(wait_then_append, std::ref(ev), std::ref(results), i));
        grove::idle();
        ev.set();
        gs.push_back(grove::spawn(wait_then_append, std::ref(ev), std::ref(results), 5));  // a late waiter too
        wait_then_append(ev, results, 6);
        ASSERT_GE(results.size(), 5u) << "returned ahead of the waiters set() woke";
        // 1-4 were woken by set() before either late waiter came: both run after them.
        std::vector<int> first_four(results.begin(), results.begin() + 4);
        std::sort(first_four.begin(), first_four.end());
        EXPECT_EQ(first_four, (std::vector<int>{1, 2, 3, 4}));
        EXPECT_EQ(results.back(), 6);
        grove::joinall(gs);
        EXPECT_EQ(results.size(), 6u);
    }
}

TEST_F(Event, AnEarlierWaiterKilledWhileNotifyingDoesNotStrandTheLateOne) {
    grove::Event ev;
    std::vector<int> results;
    auto doomed = grove::spawn(wait_then_append, std::ref(ev), std::ref(results), 1);
    grove::spawn(wait_then_append, std::ref(ev), std::ref(results), 2);
    grove::idle();
    ev.set();
    doomed->kill({}, false);
    wait_then_append(ev, results, 3);
    EXPECT_EQ(results, (std::vector<int>{2, 3}));
    EXPECT_TRUE(doomed->dead());
}

TEST_F(Event, WaitOnASetEventWithNobodyBeingWokenReturnsAtOnce) {
    grove::Event ev;
    ev.set();
    std::vector<int> results;
    auto other = grove::spawn([&] { results.push_back(1); });
    EXPECT_TRUE(ev.wait());
    EXPECT_TRUE(ev.wait(0s));
    results.push_back(2);  // no switch happened: the spawned greenlet has not run
    other->join();
    EXPECT_EQ(results, (std::vector<int>{2, 1}));
}

TEST_F(Event, ANonBlockingWaitWhileNotifyingReturnsTrueAtOnce) {
    grove::Event ev;
    std::vector<int> results;
    grove::spawn(wait_then_append, std::ref(ev), std::ref(results), 1);
    grove::idle();
    ev.set();
    EXPECT_TRUE(ev.wait(0s));
    EXPECT_TRUE(results.empty());
    grove::idle();
    EXPECT_EQ(results, (std::vector<int>{1}));
}

TEST_F(Event, DestroyingAnEventWhileItNotifiesLeavesTheWokenWaitersSafe) {
    std::vector<int> results;
    grove::Ref<grove::GreenletBase> g;
    {
        grove::Event ev;
        g = grove::spawn([&ev, &results] {
            ev.wait();  // touches nothing of ev once woken
            results.push_back(1);
        });
        grove::idle();
        ev.set();
    }
    g->join();
    EXPECT_EQ(results, (std::vector<int>{1}));
}
