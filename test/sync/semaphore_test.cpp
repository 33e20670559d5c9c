// Semaphore, BoundedSemaphore, DummySemaphore: ported from gevent's
// test__semaphore.py (FIFO hand-over, acquire timeouts, kill while waiting,
// over-release) plus the std lockable requirements.
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/sync/semaphore.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;
using Semaphore = grove::test::LeakChecked;
using BoundedSemaphore = grove::test::LeakChecked;
using DummySemaphore = grove::test::LeakChecked;

TEST_F(Semaphore, AcquireTakesPermitsUntilNoneLeft) {
    grove::Semaphore s(2);
    EXPECT_TRUE(s.acquire());
    EXPECT_TRUE(s.acquire());
    EXPECT_TRUE(s.locked());
    EXPECT_FALSE(s.acquire(false));
    s.release();
    EXPECT_EQ(s.counter(), 1);
}

TEST_F(Semaphore, NegativeInitialValueIsRejected) { EXPECT_THROW(grove::Semaphore(-1), std::invalid_argument); }

TEST_F(Semaphore, AcquireReturnsFalseAfterTimeout) {
    grove::Semaphore s(0);
    EXPECT_FALSE(s.acquire(true, 5ms));
    EXPECT_FALSE(s.acquire(true, 0s));
    EXPECT_EQ(s.waiting(), 0u);
    EXPECT_EQ(s.counter(), 0);
}

TEST_F(Semaphore, ReleaseHandsPermitToFirstWaiterInFifoOrder) {
    grove::Semaphore s(0);
    std::vector<int> order;
    std::vector<grove::Ref<grove::GreenletBase>> gs;
    for (int i = 0; i < 4; ++i)
        gs.push_back(grove::spawn([&, i] {
            s.acquire();
            order.push_back(i);
        }));
    grove::sleep();
    for (int i = 0; i < 4; ++i) s.release();
    grove::joinall(gs);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
    EXPECT_EQ(s.counter(), 0);
}

TEST_F(Semaphore, LaterAcquirerCannotBargeAheadOfAWokenWaiter) {
    grove::Semaphore s(0);
    std::vector<std::string> order;
    auto waiter = grove::spawn([&] {
        s.acquire();
        order.push_back("waiter");
    });
    grove::sleep();
    s.release();  // handed to `waiter`, which has not run yet
    EXPECT_FALSE(s.acquire(false)) << "the permit belongs to the waiter";
    waiter->join();
    EXPECT_EQ(order, (std::vector<std::string>{"waiter"}));
}

TEST_F(Semaphore, PermitHandedToAKilledWaiterPassesToTheNext) {
    grove::Semaphore s(0);
    bool second_got_it = false;
    auto first = grove::spawn([&] {
        s.acquire();
        ADD_FAILURE() << "killed waiter must not run on";
    });
    auto second = grove::spawn([&] { second_got_it = s.acquire(); });
    grove::sleep();
    s.release();    // hand to `first`...
    first->kill();  // ...which dies before it resumes
    second->join();
    EXPECT_TRUE(second_got_it);
    EXPECT_EQ(s.counter(), 0);
}

TEST_F(Semaphore, PermitHandedToAKilledLastWaiterReturnsToTheCounter) {
    grove::Semaphore s(0);
    auto g = grove::spawn([&] { s.acquire(); });
    grove::sleep();
    s.release();
    g->kill();
    EXPECT_EQ(s.counter(), 1);
    EXPECT_EQ(s.waiting(), 0u);
}

TEST_F(Semaphore, PermitHandedInTheTurnAGroveTimeoutFiresReturnsToTheCounter) {
    grove::Semaphore s(0);
    auto g = grove::spawn([&] {
        grove::Timeout t(1ms);
        s.acquire();
    });
    grove::sleep();
    std::this_thread::sleep_for(3ms);  // the guard is due, but the hub has not seen it yet
    // Hand it over from the hub, in the turn that also runs the due timer.
    grove::get_hub().run_callback([&] { s.release(); });
    g->join();
    ASSERT_TRUE(g->exception());
    EXPECT_THROW(std::rethrow_exception(g->exception()), grove::TimeoutError);
    EXPECT_EQ(s.counter(), 1);
}

TEST_F(Semaphore, TimeoutWhileWaitingRaisesAndLeavesNoWaiter) {
    grove::Semaphore s(0);
    auto g = grove::spawn([&] {
        grove::Timeout t(5ms);
        s.acquire();
    });
    g->join();
    EXPECT_FALSE(g->successful());
    EXPECT_EQ(s.waiting(), 0u);
    s.release();
    EXPECT_EQ(s.counter(), 1);
}

TEST_F(Semaphore, WaitBlocksUntilAPermitIsAvailableWithoutTakingIt) {
    grove::Semaphore s(0);
    auto g = grove::spawn([&] { return s.wait(); });
    grove::sleep();
    s.release();
    EXPECT_TRUE(*g->get());
    EXPECT_EQ(s.counter(), 1);
    EXPECT_FALSE(grove::Semaphore(0).wait(1ms));
}

TEST_F(Semaphore, WorksWithStdLockGuardUniqueLockAndScopedLock) {
    grove::Semaphore a(1), b(1);
    {
        std::lock_guard<grove::Semaphore> guard(a);
        EXPECT_TRUE(a.locked());
    }
    EXPECT_FALSE(a.locked());
    {
        std::unique_lock<grove::Semaphore> lock(a, 5ms);
        EXPECT_TRUE(lock.owns_lock());
        std::unique_lock<grove::Semaphore> again(a, std::chrono::steady_clock::now() + 1ms);
        EXPECT_FALSE(again.owns_lock());
    }
    {
        std::scoped_lock both(a, b);
        EXPECT_TRUE(a.locked() && b.locked());
    }
    EXPECT_FALSE(a.locked() || b.locked());
}

TEST_F(Semaphore, AcquireInMainWithNobodyToReleaseRaisesLoopExit) {
    grove::Semaphore s(0);
    EXPECT_THROW(s.acquire(), grove::LoopExit);
    EXPECT_EQ(s.waiting(), 0u);
}

TEST_F(BoundedSemaphore, ReleaseBeyondTheInitialValueThrowsLogicError) {
    grove::BoundedSemaphore s(1);
    EXPECT_THROW(s.release(), std::logic_error);
    s.acquire();
    s.release();
    try {
        s.release();
        FAIL();
    } catch (const std::logic_error& e) {
        EXPECT_NE(std::string(e.what()).find("released too many times"), std::string::npos);
    }
}

TEST_F(BoundedSemaphore, ReleaseToAWaiterIsAllowed) {
    grove::BoundedSemaphore s(1);
    s.acquire();
    auto g = grove::spawn([&] { s.acquire(); });
    grove::sleep();
    s.release();
    g->join();
    s.release();
    EXPECT_EQ(s.counter(), 1);
}

TEST_F(DummySemaphore, NeverBlocksNorRunsOut) {
    grove::DummySemaphore s;
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(s.acquire());
    EXPECT_FALSE(s.locked());
    std::lock_guard<grove::DummySemaphore> guard(s);
    EXPECT_TRUE(s.try_lock_for(0s));
}
