// Event: ported from gevent's test__event.py (set/clear races, timeouts,
// kill while waiting, wait()/iwait() over events).
#include <chrono>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/sync/event.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;
using Event = grove::test::LeakChecked;

TEST_F(Event, WaitReturnsAtOnceWhenAlreadySet) {
    grove::Event e;
    e.set();
    EXPECT_TRUE(e.is_set());
    EXPECT_TRUE(e.wait());
    EXPECT_TRUE(e.wait(0s));
}

TEST_F(Event, WaitReturnsFalseAfterTimeout) {
    grove::Event e;
    EXPECT_FALSE(e.wait(10ms));
    EXPECT_FALSE(e.wait(0s));
    EXPECT_FALSE(e.is_set());
}

TEST_F(Event, SetWakesEveryWaiterInOrder) {
    grove::Event e;
    std::vector<int> order;
    std::vector<grove::Ref<grove::GreenletBase>> gs;
    for (int i = 0; i < 5; ++i)
        gs.push_back(grove::spawn([&, i] {
            EXPECT_TRUE(e.wait());
            order.push_back(i);
        }));
    grove::sleep();
    EXPECT_EQ(e.waiters().size(), 5u);
    e.set();
    grove::joinall(gs);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(Event, WaiterWokenBySetReturnsTrueEvenIfClearedBeforeItResumes) {
    grove::Event e;
    auto g = grove::spawn([&] { return e.wait(); });
    grove::sleep();
    e.set();
    e.clear();
    EXPECT_TRUE(*g->get());
    EXPECT_FALSE(e.is_set());
}

TEST_F(Event, ClearMakesLaterWaitersBlock) {
    grove::Event e;
    e.set();
    e.clear();
    EXPECT_FALSE(e.wait(1ms));
}

TEST_F(Event, KilledWaiterTakesNoWakeupFromTheOthers) {
    grove::Event e;
    int woke = 0;
    auto a = grove::spawn([&] {
        e.wait();
        ++woke;
    });
    auto b = grove::spawn([&] {
        e.wait();
        ++woke;
    });
    grove::sleep();
    e.set();
    a->kill();  // lands in the same turn as the wake-up
    b->join();
    EXPECT_EQ(woke, 1);
    EXPECT_TRUE(a->successful());
    EXPECT_EQ(e.waiters().size(), 0u);
}

TEST_F(Event, GroveTimeoutInterruptsWaitAndUnlinksTheWaiter) {
    grove::Event e;
    grove::Timeout t(5ms);
    EXPECT_THROW(e.wait(), grove::TimeoutError);
    EXPECT_EQ(e.waiters().size(), 0u);
}

TEST_F(Event, WaitInMainWithNothingToSetItRaisesLoopExit) {
    grove::Event e;
    EXPECT_THROW(e.wait(), grove::LoopExit);
}

TEST_F(Event, SetFromALinkCallbackWakesWaiters) {
    grove::Event e;
    auto g = grove::spawn([] {});
    g->link([&](grove::GreenletBase&) { e.set(); });
    EXPECT_TRUE(e.wait());
}

TEST_F(Event, GroveWaitReturnsTheEventsInTheOrderTheyWereSet) {
    grove::Event a, b, c;
    auto setter = grove::spawn([&] {
        c.set();
        grove::sleep();
        a.set();
    });
    std::vector<grove::Event*> events{&a, &b, &c};
    auto ready = grove::wait(events, std::nullopt, 2);
    ASSERT_EQ(ready.size(), 2u);
    EXPECT_EQ(ready[0], &c);
    EXPECT_EQ(ready[1], &a);
    setter->join();
}

TEST_F(Event, GroveWaitTimesOutWithTheReadyOnesOnly) {
    grove::Event a, b;
    a.set();
    std::vector<grove::Event*> events{&a, &b};
    auto ready = grove::wait(events, 5ms);
    ASSERT_EQ(ready.size(), 1u);
    EXPECT_EQ(ready[0], &a);
}
