// Lock and RLock: ported from gevent's test__lock.py / test__threading_2
// lock cases (ownership, reentrancy, release by non-owner, kill while waiting).
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/sync/lock.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;
using Lock = grove::test::LeakChecked;
using RLock = grove::test::LeakChecked;

TEST_F(Lock, SecondAcquireBlocksUntilRelease) {
    grove::Lock l;
    EXPECT_TRUE(l.acquire());
    EXPECT_FALSE(l.acquire(false));
    EXPECT_FALSE(l.acquire(true, 2ms));
    l.release();
    EXPECT_FALSE(l.locked());
}

TEST_F(Lock, ReleasingAnUnlockedLockThrowsLogicError) {
    grove::Lock l;
    EXPECT_THROW(l.release(), std::logic_error);
}

TEST_F(Lock, MayBeReleasedByAnotherGreenlet) {
    grove::Lock l;
    l.acquire();
    grove::spawn([&] { l.release(); })->join();
    EXPECT_FALSE(l.locked());
}

TEST_F(Lock, SerialisesCriticalSectionsThatSwitch) {
    grove::Lock l;
    int inside = 0, max_inside = 0;
    std::vector<grove::Ref<grove::GreenletBase>> gs;
    for (int i = 0; i < 10; ++i)
        gs.push_back(grove::spawn([&] {
            std::lock_guard<grove::Lock> guard(l);
            max_inside = std::max(max_inside, ++inside);
            grove::sleep();
            --inside;
        }));
    grove::joinall(gs);
    EXPECT_EQ(max_inside, 1);
}

TEST_F(RLock, OwnerMayAcquireAgainAndMustReleaseAsOften) {
    grove::RLock l;
    EXPECT_TRUE(l.acquire());
    EXPECT_TRUE(l.acquire());
    EXPECT_EQ(l.count(), 2);
    EXPECT_EQ(l.owner(), grove::getcurrent());
    l.release();
    EXPECT_TRUE(l.locked());
    auto other = grove::spawn([&] { return l.acquire(false); });
    EXPECT_FALSE(*other->get());
    l.release();
    EXPECT_FALSE(l.locked());
    EXPECT_EQ(l.owner(), nullptr);
}

TEST_F(RLock, ReleaseByANonOwnerThrowsLogicError) {
    grove::RLock l;
    EXPECT_THROW(l.release(), std::logic_error);
    l.acquire();
    auto g = grove::spawn([&] { l.release(); });
    g->join();
    ASSERT_TRUE(g->exception());
    EXPECT_THROW(std::rethrow_exception(g->exception()), std::logic_error);
    EXPECT_TRUE(l.locked());
    l.release();
}

TEST_F(RLock, WaitersGetTheLockInFifoOrder) {
    grove::RLock l;
    std::vector<int> order;
    l.acquire();
    std::vector<grove::Ref<grove::GreenletBase>> gs;
    for (int i = 0; i < 3; ++i)
        gs.push_back(grove::spawn([&, i] {
            std::lock_guard<grove::RLock> outer(l);
            std::lock_guard<grove::RLock> inner(l);
            order.push_back(i);
            grove::sleep();
        }));
    grove::sleep();
    l.release();
    grove::joinall(gs);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
    EXPECT_FALSE(l.locked());
}

TEST_F(RLock, LockHandedToAKilledWaiterPassesToTheNext) {
    grove::RLock l;
    l.acquire();
    auto first = grove::spawn([&] { l.acquire(); });
    auto second = grove::spawn([&] {
        l.acquire();
        l.release();
        return true;
    });
    grove::sleep();
    l.release();
    first->kill();
    EXPECT_TRUE(*second->get());
    EXPECT_FALSE(l.locked());
}

TEST_F(RLock, TryLockForTimesOutWhileAnotherGreenletOwnsIt) {
    grove::RLock l;
    auto owner = grove::spawn([&] {
        l.acquire();
        grove::sleep(20ms);
        l.release();
    });
    grove::sleep();
    EXPECT_FALSE(l.try_lock_for(1ms));
    std::unique_lock<grove::RLock> lock(l);
    EXPECT_TRUE(lock.owns_lock());
    owner->join();
}
