// Queue, LifoQueue, PriorityQueue, JoinableQueue: ported from gevent's
// test__queue.py (blocking get/put, Empty/Full on timeouts, kill while
// waiting, peek, joinable task counting) plus shutdown and move-only items.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/sync/joinable_queue.hpp>
#include <grove/sync/queue.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;
using Queue = grove::test::LeakChecked;
using LifoQueue = grove::test::LeakChecked;
using PriorityQueue = grove::test::LeakChecked;
using JoinableQueue = grove::test::LeakChecked;

TEST_F(Queue, GetReturnsItemsInPutOrder) {
    grove::Queue<int> q;
    for (int i = 0; i < 3; ++i) q.put(i);
    EXPECT_EQ(q.qsize(), 3u);
    EXPECT_EQ(q.peek(), 0);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(q.get(), i);
    EXPECT_TRUE(q.empty());
}

TEST_F(Queue, NonBlockingGetOnEmptyThrowsQueueEmpty) {
    grove::Queue<int> q;
    EXPECT_THROW(q.get(false), grove::QueueEmpty);
    EXPECT_THROW(q.get_nowait(), grove::QueueEmpty);
    EXPECT_THROW(q.peek_nowait(), grove::QueueEmpty);
}

TEST_F(Queue, GetTimeoutThrowsQueueEmptyAndLeavesNoGetter) {
    grove::Queue<int> q;
    EXPECT_THROW(q.get(true, 5ms), grove::QueueEmpty);
    EXPECT_THROW(q.get(true, 0s), grove::QueueEmpty);
    EXPECT_EQ(q.waiting_getters(), 0u);
}

TEST_F(Queue, PutOnFullQueueThrowsQueueFullWithoutBlockOrAfterTimeout) {
    grove::Queue<int> q(1);
    q.put(1);
    EXPECT_TRUE(q.full());
    EXPECT_THROW(q.put_nowait(2), grove::QueueFull);
    EXPECT_THROW(q.put(2, true, 5ms), grove::QueueFull);
    EXPECT_EQ(q.waiting_putters(), 0u);
    EXPECT_EQ(q.qsize(), 1u);
}

TEST_F(Queue, ZeroMaxsizeMeansUnboundedAsInGevent) {
    grove::Queue<int> q(0);
    EXPECT_FALSE(q.maxsize());
    for (int i = 0; i < 100; ++i) q.put_nowait(i);
    EXPECT_FALSE(q.full());
}

TEST_F(Queue, BlockedGettersAreServedInFifoOrder) {
    grove::Queue<int> q;
    std::vector<std::string> got;
    std::vector<grove::Ref<grove::GreenletBase>> gs;
    for (const char* name : {"a", "b", "c"})
        gs.push_back(grove::spawn([&, name] { got.push_back(name + std::to_string(q.get())); }));
    grove::sleep();
    for (int i = 0; i < 3; ++i) q.put(i);
    grove::joinall(gs);
    EXPECT_EQ(got, (std::vector<std::string>{"a0", "b1", "c2"}));
}

TEST_F(Queue, BlockedPutterResumesWhenRoomIsMadeAndKeepsOrder) {
    grove::Queue<int> q(2);
    auto producer = grove::spawn([&] {
        for (int i = 0; i < 5; ++i) q.put(i);
    });
    std::vector<int> got;
    for (int i = 0; i < 5; ++i) got.push_back(q.get());
    producer->join();
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_F(Queue, ItemHandedToAKilledGetterGoesToTheNextGetter) {
    grove::Queue<int> q;
    auto first = grove::spawn([&] { return q.get(); });
    auto second = grove::spawn([&] { return q.get(); });
    grove::sleep();
    q.put(42);      // handed to `first`
    first->kill();  // which dies before it resumes
    EXPECT_EQ(*second->get(), 42);
    EXPECT_TRUE(q.empty());
}

TEST_F(Queue, ItemHandedToAKilledGetterGoesBackToTheFront) {
    grove::Queue<int> q;
    auto g = grove::spawn([&] { return q.get(); });
    grove::sleep();
    q.put(1);
    q.put(2);
    g->kill();
    EXPECT_EQ(q.get(), 1);
    EXPECT_EQ(q.get(), 2);
}

TEST_F(Queue, ItemHandedInTheTurnAGroveTimeoutFiresGoesBackToTheQueue) {
    grove::Queue<int> q;
    auto g = grove::spawn([&] {
        grove::Timeout t(1ms);
        return q.get();
    });
    grove::sleep();
    std::this_thread::sleep_for(3ms);  // the guard is due, but the hub has not seen it yet
    // Hand it over from the hub, in the turn that also runs the due timer.
    grove::get_hub().run_callback([&] { q.put_nowait(7); });
    g->join();
    ASSERT_TRUE(g->exception());
    EXPECT_THROW(std::rethrow_exception(g->exception()), grove::TimeoutError);
    EXPECT_EQ(q.get_nowait(), 7);
}

TEST_F(Queue, PutterKilledAfterItsItemWasTakenDoesNotDuplicateIt) {
    grove::Queue<int> q(1);
    q.put(1);
    auto putter = grove::spawn([&] { q.put(2); });
    grove::sleep();
    EXPECT_EQ(q.get(), 1);  // moves 2 in and wakes the putter
    putter->kill();
    EXPECT_EQ(q.qsize(), 1u);
    EXPECT_EQ(q.get(), 2);
    EXPECT_TRUE(q.empty());
}

TEST_F(Queue, PutterKilledWhileWaitingPutsNothing) {
    grove::Queue<int> q(1);
    q.put(1);
    auto putter = grove::spawn([&] { q.put(2); });
    grove::sleep();
    putter->kill();
    EXPECT_EQ(q.waiting_putters(), 0u);
    EXPECT_EQ(q.get(), 1);
    EXPECT_TRUE(q.empty());
}

TEST_F(Queue, BlockingPeekWaitsForAnItemAndLeavesIt) {
    grove::Queue<int> q;
    auto peeker = grove::spawn([&] { return q.peek(); });
    grove::sleep();
    q.put(5);
    EXPECT_EQ(*peeker->get(), 5);
    EXPECT_EQ(q.qsize(), 1u);
    EXPECT_THROW(grove::Queue<int>().peek(true, 1ms), grove::QueueEmpty);
}

TEST_F(Queue, MoveOnlyItemsPassThrough) {
    grove::Queue<std::unique_ptr<int>> q(1);
    auto consumer = grove::spawn([&] {
        int sum = 0;
        for (int i = 0; i < 3; ++i) sum += *q.get();
        return sum;
    });
    for (int i = 1; i <= 3; ++i) q.put(std::make_unique<int>(i));
    EXPECT_EQ(*consumer->get(), 6);
}

TEST_F(Queue, ShutdownWakesWaitingGettersAndRefusesPuts) {
    grove::Queue<int> q;
    auto getter = grove::spawn([&] { q.get(); });
    grove::sleep();
    q.shutdown();
    getter->join();
    ASSERT_TRUE(getter->exception());
    EXPECT_THROW(std::rethrow_exception(getter->exception()), grove::QueueShutDown);
    EXPECT_THROW(q.put(1), grove::QueueShutDown);
}

TEST_F(Queue, ShutdownWakesWaitingPuttersWithQueueShutDown) {
    grove::Queue<int> q(1);
    q.put(1);
    auto putter = grove::spawn([&] { q.put(2); });
    grove::sleep();
    q.shutdown();
    putter->join();
    EXPECT_THROW(std::rethrow_exception(putter->exception()), grove::QueueShutDown);
    EXPECT_EQ(q.get(), 1);
    EXPECT_THROW(q.get(), grove::QueueShutDown);
}

TEST_F(Queue, RangeForDrainsUntilShutDownAndEmpty) {
    grove::Queue<std::unique_ptr<int>> q;
    auto producer = grove::spawn([&] {
        for (int i = 0; i < 4; ++i) {
            q.put(std::make_unique<int>(i));
            grove::sleep();
        }
        q.shutdown();
    });
    std::vector<int> got;
    for (auto& p : q) got.push_back(*p);
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
    producer->join();
}

TEST_F(LifoQueue, GetReturnsTheMostRecentItem) {
    grove::LifoQueue<int> q;
    for (int i = 0; i < 3; ++i) q.put(i);
    EXPECT_EQ(q.peek(), 2);
    EXPECT_EQ(q.get(), 2);
    EXPECT_EQ(q.get(), 1);
    EXPECT_EQ(q.get(), 0);
}

TEST_F(PriorityQueue, GetReturnsTheSmallestFirst) {
    grove::PriorityQueue<int> q;
    for (int x : {5, 1, 4, 2, 3}) q.put(x);
    for (int i = 1; i <= 5; ++i) EXPECT_EQ(q.get(), i);
}

TEST_F(PriorityQueue, CustomCompareOrdersTheOtherWay) {
    grove::PriorityQueue<int, std::greater<int>> q;
    for (int x : {1, 3, 2}) q.put(x);
    EXPECT_EQ(q.get(), 3);
}

TEST_F(JoinableQueue, JoinWaitsUntilEveryTaskIsDone) {
    grove::JoinableQueue<int> q;
    std::vector<int> done;
    auto worker = grove::spawn([&] {
        for (int i = 0; i < 3; ++i) {
            done.push_back(q.get());
            grove::sleep();
            q.task_done();
        }
    });
    for (int i = 0; i < 3; ++i) q.put(i);
    EXPECT_EQ(q.unfinished_tasks(), 3u);
    EXPECT_TRUE(q.join());
    EXPECT_EQ(done.size(), 3u);
    worker->join();
}

TEST_F(JoinableQueue, JoinTimesOutWhileTasksAreUnfinished) {
    grove::JoinableQueue<int> q;
    q.put(1);
    EXPECT_FALSE(q.join(2ms));
    q.get();
    q.task_done();
    EXPECT_TRUE(q.join(0s));
}

TEST_F(JoinableQueue, TaskDoneCalledTooOftenThrowsLogicError) {
    grove::JoinableQueue<int> q;
    EXPECT_THROW(q.task_done(), std::logic_error);
}
