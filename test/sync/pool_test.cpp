// Pool and Group: ported from gevent's test__pool.py (spawn blocks while
// full, join/kill, apply, map/imap order, imap_unordered, failing members).
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/sync/pool.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;
using Pool = grove::test::LeakChecked;
using Group = grove::test::LeakChecked;

TEST_F(Pool, SpawnBlocksWhileFullAndResumesWhenAMemberDies) {
    grove::Pool pool(2);
    std::vector<std::string> log;
    auto a = pool.spawn([&] {
        grove::sleep(5ms);
        log.push_back("a done");
    });
    auto b = pool.spawn([&] { grove::sleep(50ms); });
    EXPECT_EQ(pool.free_count(), 0u);
    EXPECT_TRUE(pool.full());
    pool.spawn([&] { log.push_back("c ran"); });  // waits for a's slot
    log.push_back("c spawned");
    EXPECT_EQ(log.front(), "a done");
    EXPECT_TRUE(pool.join());
    EXPECT_EQ(log, (std::vector<std::string>{"a done", "c spawned", "c ran"}));
    EXPECT_EQ(pool.free_count(), 2u);
}

TEST_F(Pool, ZeroCapacityIsRejected) { EXPECT_THROW(grove::Pool(0), std::invalid_argument); }

TEST_F(Pool, SlotHandedToAKilledSpawnerPassesToTheNext) {
    grove::Pool pool(1);
    auto blocker = pool.spawn([] { grove::sleep(5ms); });
    auto first = grove::spawn([&] { pool.spawn([] {}); });
    auto second = grove::spawn([&] { return pool.spawn([] { return 5; })->get().value(); });
    grove::sleep();
    blocker->join();
    grove::sleep(0s);  // the death link hands the slot to `first`...
    first->kill();     // ...which dies before it resumes
    EXPECT_EQ(*second->get(), 5);
    pool.join();
    EXPECT_EQ(pool.free_count(), 1u);
}

TEST_F(Pool, WaitAvailableReturnsWhenASlotFrees) {
    grove::Pool pool(1);
    pool.spawn([] { grove::sleep(2ms); });
    EXPECT_FALSE(pool.wait_available(0s));
    EXPECT_TRUE(pool.wait_available());
    EXPECT_EQ(pool.free_count(), 1u);
}

TEST_F(Pool, AddWaitsForASlotAndThrowsQueueFullOnTimeout) {
    grove::Pool pool(1);
    pool.spawn([] { grove::sleep(20ms); });
    auto g = grove::make<grove::Greenlet<int>>();
    EXPECT_THROW(pool.add(g, true, 1ms), grove::QueueFull);
    EXPECT_FALSE(pool.contains(g.get()));
    pool.kill();
    EXPECT_EQ(pool.size(), 0u);
}

TEST_F(Pool, FailingMemberDoesNotStopTheOthers) {
    grove::Pool pool(3);
    int ok = 0;
    pool.spawn([&] {
        grove::sleep();
        ++ok;
    });
    pool.spawn([]() { throw std::runtime_error("expected failure in a pool member"); });
    pool.spawn([&] {
        grove::sleep();
        ++ok;
    });
    EXPECT_TRUE(pool.join());
    EXPECT_EQ(ok, 2);
}

TEST_F(Pool, JoinWithRaiseErrorRethrowsTheFirstFailure) {
    grove::Pool pool(2);
    pool.spawn([]() { throw std::domain_error("expected failure in a pool member"); });
    EXPECT_THROW(pool.join(std::nullopt, true), std::domain_error);
    EXPECT_TRUE(pool.join(std::nullopt, true));
}

TEST_F(Pool, JoinTimesOutWhileMembersRun) {
    grove::Pool pool(1);
    pool.spawn([] { grove::sleep(1s); });
    EXPECT_FALSE(pool.join(2ms));
    pool.kill();
    EXPECT_TRUE(pool.empty());
}

TEST_F(Pool, ApplyReturnsTheResultAndRethrowsErrors) {
    grove::Pool pool(1);
    EXPECT_EQ(pool.apply([](int a, int b) { return a * b; }, 6, 7), 42);
    EXPECT_THROW(pool.apply([]() -> int { throw std::out_of_range("expected failure in apply"); }), std::out_of_range);
}

TEST_F(Pool, ApplyFromAMemberRunsInline) {
    grove::Pool pool(1);
    auto g = pool.spawn([&] { return pool.apply([] { return 3; }); });
    EXPECT_EQ(*g->get(), 3);
}

TEST_F(Pool, MapReturnsResultsInInputOrder) {
    grove::Pool pool(2);
    std::vector<int> in{30, 10, 20, 0};
    auto out = pool.map(
        [](int ms) {
            grove::sleep(std::chrono::milliseconds(ms) / 10);
            return ms;
        },
        in);
    EXPECT_EQ(out, in);
}

TEST_F(Pool, ImapNeverRunsMoreThanTheCapacity) {
    grove::Pool pool(3);
    int running = 0, peak = 0;
    std::vector<int> in(10);
    for (int i = 0; i < 10; ++i) in[i] = i;
    std::vector<int> out;
    for (int x : pool.imap(
             [&](int v) {
                 peak = std::max(peak, ++running);
                 grove::sleep();
                 --running;
                 return v * v;
             },
             in))
        out.push_back(x);
    EXPECT_EQ(peak, 3);
    ASSERT_EQ(out.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(out[i], i * i);
}

TEST_F(Pool, ImapUnorderedYieldsInCompletionOrder) {
    grove::Pool pool(3);
    std::vector<int> in{3, 1, 2};
    std::vector<int> out;
    for (int x : pool.imap_unordered(
             [](int v) {
                 grove::sleep(std::chrono::milliseconds(v * 3));
                 return v;
             },
             in))
        out.push_back(x);
    EXPECT_EQ(out, (std::vector<int>{1, 2, 3}));
}

TEST_F(Pool, ImapRethrowsAFailedCallWhenReached) {
    grove::Pool pool(2);
    std::vector<int> in{1, 0, 2};
    auto results = pool.imap(
        [](int v) {
            if (v == 0) throw std::invalid_argument("expected failure in imap");
            return v;
        },
        in);
    auto it = results.begin();
    EXPECT_EQ(*it, 1);
    EXPECT_THROW(++it, std::invalid_argument);
    ++it;
    EXPECT_EQ(*it, 2);
}

TEST_F(Pool, DroppingAnImapEarlyKillsTheCallsStillRunning) {
    grove::Pool pool(2);
    std::vector<int> in{1, 2, 3, 4};
    {
        auto results = pool.imap(
            [](int v) {
                grove::sleep(1s);
                return v;
            },
            in);
        EXPECT_THROW((grove::with_timeout(2ms, [&] { return *results.begin(); })), grove::TimeoutError);
    }
    EXPECT_TRUE(pool.join(1s));
}

TEST_F(Pool, IsASpawner) {
    grove::Pool pool(1);
    grove::Spawner& s = pool;
    int ran = 0;
    s.spawn_task([&] { ++ran; })->join();
    EXPECT_EQ(ran, 1);
}

TEST_F(Group, TracksMembersUntilTheyDie) {
    grove::Group group;
    auto g = group.spawn([] { grove::sleep(); });
    EXPECT_TRUE(group.contains(g.get()));
    EXPECT_EQ(group.size(), 1u);
    EXPECT_TRUE(group.join());
    EXPECT_FALSE(group.contains(g.get()));
    EXPECT_TRUE(group.wait_available(0s));
}

TEST_F(Group, AddAndDiscardManageMembershipByHand) {
    grove::Group group;
    auto g = grove::spawn([] { grove::sleep(); });
    group.add(g);
    group.add(g);
    EXPECT_EQ(group.size(), 1u);
    group.discard(g.get());
    EXPECT_TRUE(group.empty());
    EXPECT_TRUE(group.join(0s));
    g->join();
}

TEST_F(Group, KillWithBlockLeavesTheGroupEmpty) {
    grove::Group group;
    for (int i = 0; i < 5; ++i) group.spawn([] { grove::sleep(1s); });
    group.kill();
    EXPECT_TRUE(group.empty());
}
