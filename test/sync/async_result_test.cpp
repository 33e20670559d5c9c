// AsyncResult: ported from gevent's test__event.py AsyncResult cases (value
// and exception delivered to many waiters, get timeouts, LoopExit) plus sets
// from real OS threads.
#include <atomic>
#include <chrono>
#include <memory>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/sync/async_result.hpp>
#include <grove/timeout.hpp>
#include <grove/waiter.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;
using AsyncResult = grove::test::LeakChecked;

TEST_F(AsyncResult, ValueIsDeliveredToEveryWaiter) {
    grove::AsyncResult<int> r;
    std::vector<grove::Ref<grove::Greenlet<int>>> gs;
    for (int i = 0; i < 3; ++i) gs.push_back(grove::spawn([&] { return r.get(); }));
    grove::sleep();
    EXPECT_FALSE(r.ready());
    r.set(7);
    for (auto& g : gs) EXPECT_EQ(*g->get(), 7);
    EXPECT_TRUE(r.successful());
    EXPECT_FALSE(r.exception());
}

TEST_F(AsyncResult, ExceptionIsRethrownByGetButNotByWait) {
    grove::AsyncResult<int> r;
    auto g = grove::spawn([&] { return r.wait(); });
    grove::sleep();
    r.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
    EXPECT_TRUE(*g->get());
    EXPECT_TRUE(r.ready());
    EXPECT_FALSE(r.successful());
    EXPECT_TRUE(r.exception());
    EXPECT_THROW(r.get(), std::runtime_error);
}

TEST_F(AsyncResult, GetNotReadyWithoutBlockOrAfterTimeoutThrowsTimeoutError) {
    grove::AsyncResult<int> r;
    EXPECT_THROW(r.get(false), grove::TimeoutError);
    EXPECT_THROW(r.get_nowait(), grove::TimeoutError);
    EXPECT_THROW(r.get(true, 2ms), grove::TimeoutError);
    EXPECT_FALSE(r.wait(1ms));
    EXPECT_EQ(r.waiters().size(), 0u);
}

TEST_F(AsyncResult, SecondSetThrowsLogicError) {
    grove::AsyncResult<int> r;
    r.set(1);
    EXPECT_THROW(r.set(2), std::logic_error);
    EXPECT_THROW(r.set_exception(std::make_exception_ptr(1)), std::logic_error);
    EXPECT_EQ(r.get(), 1);
}

TEST_F(AsyncResult, MoveOnlyValueIsReadByReference) {
    grove::AsyncResult<std::unique_ptr<int>> r;
    r.set(std::make_unique<int>(5));
    EXPECT_EQ(*r.get(), 5);
    EXPECT_EQ(*r.get(), 5);
}

TEST_F(AsyncResult, VoidResultSignalsCompletion) {
    grove::AsyncResult<void> r;
    auto g = grove::spawn([&] {
        r.get();
        return 1;
    });
    grove::sleep();
    r.set();
    EXPECT_EQ(*g->get(), 1);
}

TEST_F(AsyncResult, KilledWaiterLeavesNoNodeAndTakesNothingFromOthers) {
    grove::AsyncResult<int> r;
    auto a = grove::spawn([&] { return r.get(); });
    auto b = grove::spawn([&] { return r.get(); });
    grove::sleep();
    r.set(3);
    a->kill();
    EXPECT_EQ(*b->get(), 3);
    EXPECT_EQ(r.waiters().size(), 0u);
}

TEST_F(AsyncResult, GroveTimeoutInterruptsGet) {
    grove::AsyncResult<int> r;
    grove::Timeout t(2ms);
    EXPECT_THROW(r.get(), grove::TimeoutError);
}

TEST_F(AsyncResult, NeverSetSameThreadResultRaisesLoopExitInMain) {
    grove::AsyncResult<int> r;
    EXPECT_THROW(r.get(), grove::LoopExit);
}

TEST_F(AsyncResult, SetFromAnotherThreadWakesTheWaitingMainGreenlet) {
    grove::AsyncResult<int> r(grove::cross_thread);
    std::thread setter([&] {
        std::this_thread::sleep_for(10ms);
        r.set(99);
    });
    EXPECT_EQ(r.get(), 99);
    setter.join();
    grove::sleep();  // run the posted notification before teardown
}

TEST_F(AsyncResult, ExceptionFromAnotherThreadReachesManyGreenlets) {
    grove::AsyncResult<int> r(grove::cross_thread);
    std::vector<grove::Ref<grove::Greenlet<bool>>> gs;
    for (int i = 0; i < 4; ++i)
        gs.push_back(grove::spawn([&] {
            try {
                r.get();
            } catch (const std::out_of_range&) {
                return true;
            }
            return false;
        }));
    grove::sleep();
    std::thread setter([&] { r.set_exception(std::make_exception_ptr(std::out_of_range("x"))); });
    for (auto& g : gs) EXPECT_TRUE(*g->get());
    setter.join();
}

TEST_F(AsyncResult, ManyThreadsRacingToSetResultInExactlyOneValue) {
    grove::AsyncResult<int> r(grove::cross_thread);
    std::vector<std::thread> threads;
    std::atomic<int> refused{0};
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&, i] {
            try {
                r.set(i);
            } catch (const std::logic_error&) {
                ++refused;
            }
        });
    const int v = r.get();
    for (auto& t : threads) t.join();
    EXPECT_GE(v, 0);
    EXPECT_LT(v, 8);
    EXPECT_EQ(refused.load(), 7);
    grove::sleep();
}

// The set from another thread posts a wake-up to the hub; the result is gone
// before it runs. A fresh, unset result then lives at the same address: the
// stale wake-up must not reach it (its waiter stays parked until it is set).
TEST_F(AsyncResult, ResultDestroyedBeforeThePostedNotificationRunsIsSkipped) {
    alignas(grove::AsyncResult<int>) unsigned char storage[sizeof(grove::AsyncResult<int>)];
    auto* gone = new (storage) grove::AsyncResult<int>(grove::cross_thread);
    std::thread([&] { gone->set(1); }).join();  // the wake-up is now in the hub's inbox
    gone->~AsyncResult();
    auto* fresh = new (storage) grove::AsyncResult<int>();
    bool returned = false;
    auto waiter = grove::spawn([&] {
        fresh->wait();
        returned = true;
    });
    grove::sleep();  // the waiter parks on `fresh`
    // The inbox runs in order: once this marker ran, the stale wake-up has too.
    grove::Waiter marker("inbox drained", nullptr);
    grove::get_hub().remote()->post([&] { marker.wake(); });
    marker.wait();
    EXPECT_FALSE(returned) << "the destroyed result's wake-up reached the object now at its address";
    fresh->set(2);
    waiter->join();
    EXPECT_TRUE(returned);
    fresh->~AsyncResult();
}

TEST_F(AsyncResult, WorksWithGroveWait) {
    grove::AsyncResult<int> a, b;
    auto setter = grove::spawn([&] { b.set(2); });
    std::vector<grove::AsyncResultBase*> rs{&a, &b};
    auto ready = grove::wait(rs, std::nullopt, 1);
    ASSERT_EQ(ready.size(), 1u);
    EXPECT_EQ(ready[0], &b);
    setter->join();
}
