// Deterministic mode: the virtual clock jumps when every greenlet waits on
// time and flows with real time otherwise; the seeded run order replays the
// same interleaving for the same seed.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <grove/deterministic.hpp>
#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/io/threadpool.hpp>
#include <grove/io/wait.hpp>
#include <grove/timeout.hpp>
#include <grove/waiter.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using VirtualClock = test::LeakChecked;
using SeededOrder = test::LeakChecked;

double real_seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST_F(VirtualClock, SleepingAnHourTakesNoRealTimeAndExactlyAnHourOfItsOwn) {
    Deterministic mode;
    const auto real0 = std::chrono::steady_clock::now();
    const Deadline t0 = now();
    sleep(3600s);
    EXPECT_EQ(now() - t0, std::chrono::hours(1));
    EXPECT_LT(real_seconds_since(real0), 1.0);
}

TEST_F(VirtualClock, TheClockStandsStillWhileGreenletsRun) {
    Deterministic mode;
    const Deadline t0 = now();
    std::this_thread::sleep_for(20ms);  // real time passes; nobody waits on grove's
    volatile long x = 0;
    for (int i = 0; i < 100000; ++i) x = x + i;
    EXPECT_EQ(now(), t0);
    sleep();  // a yield is not a wait on time either
    EXPECT_EQ(now(), t0);
}

TEST_F(VirtualClock, SleepersWakeInDeadlineOrderEachAtItsOwnTime) {
    Deterministic mode;
    std::mt19937 rng(2026);
    const Deadline t0 = now();
    std::vector<std::pair<double, double>> woke;  // (asked, virtual seconds at wake-up)
    std::vector<Ref<GreenletBase>> sleepers;
    for (int i = 0; i < 1000; ++i) {
        const double seconds = double(rng() % 100000) / 1000.0;  // up to 100 s, 1 ms steps
        sleepers.push_back(spawn([&woke, seconds, t0] {
            sleep(Duration(seconds));
            woke.emplace_back(seconds, Duration(now() - t0).count());
        }));
    }
    const auto real0 = std::chrono::steady_clock::now();
    joinall(sleepers);
    ASSERT_EQ(woke.size(), 1000u);
    for (std::size_t i = 0; i < woke.size(); ++i) {
        EXPECT_NEAR(woke[i].second, woke[i].first, 1e-6) << "sleeper " << i << " woke at the wrong time";
        if (i > 0) {
            EXPECT_LE(woke[i - 1].first, woke[i].first) << "woken out of deadline order";
        }
    }
    EXPECT_LT(real_seconds_since(real0), 5.0) << "100 s of sleeping should take milliseconds";
}

TEST_F(VirtualClock, TimersDueAtTheSameInstantFireInArmingOrder) {
    Deterministic mode;
    std::vector<int> order;
    std::vector<Ref<GreenletBase>> all;
    for (int i = 0; i < 50; ++i)
        all.push_back(spawn([&order, i] {
            sleep(7s);
            order.push_back(i);
        }));
    joinall(all);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(order[i], i);
}

TEST_F(VirtualClock, ATimeoutFiresAtItsVirtualDeadline) {
    Deterministic mode;
    const Deadline t0 = now();
    Waiter nobody_wakes_us("test");
    try {
        Timeout guard(10s);
        nobody_wakes_us.wait();
        FAIL() << "not timed out";
    } catch (const TimeoutError&) {
    }
    EXPECT_EQ(now() - t0, 10s);
    EXPECT_FALSE(Waiter("test").wait(250ms));  // a Waiter's own timeout too
    EXPECT_EQ(now() - t0, 10250ms);
}

TEST_F(VirtualClock, AWaitOnAnotherThreadFlowsInRealTimeAndDoesNotTimeOutEarly) {
    Deterministic mode;
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const Deadline t0 = now();
    std::thread writer([w = fds[1]] {
        std::this_thread::sleep_for(50ms);
        EXPECT_EQ(::write(w, "x", 1), 1);
    });
    auto sleeper = spawn([] { sleep(3600s); });  // time must not jump past the pipe's data
    EXPECT_NO_THROW(wait_read(fds[0], 10s));
    const Duration waited = now() - t0;
    EXPECT_GE(waited.count(), 0.045) << "the clock must count the real time spent blocked";
    EXPECT_LT(waited.count(), 10.0) << "the wait timed out although the data came";
    writer.join();
    sleeper->kill();
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_F(VirtualClock, AThreadPoolJobIsWaitedForBeforeTimeJumps) {
    Deterministic mode;
    bool job_done = false;
    auto sleeper = spawn([&job_done] {
        sleep(60s);
        EXPECT_TRUE(job_done) << "the clock jumped while a ThreadPool job was still running";
    });
    get_threadpool().apply([] { std::this_thread::sleep_for(30ms); });
    job_done = true;
    sleeper->join();
    EXPECT_TRUE(sleeper->successful());
}

TEST_F(VirtualClock, AnIdleLoopStillEndsHubJoinAndRaisesLoopExit) {
    Deterministic mode;
    EXPECT_TRUE(get_hub().join(5s)) << "nothing to run: join returns at once, the clock does not jump to 5 s";
    Waiter forever("forever");
    EXPECT_THROW(forever.wait(), LoopExit);
}

TEST_F(VirtualClock, LeavingTheModeGivesArmedTimersWhatTheyHadLeftInRealTime) {
    std::optional<Deterministic> mode(std::in_place);
    sleep(1000s);  // virtual time is now far ahead of the wall
    Timeout guard(200ms);
    mode.reset();
    const auto real0 = std::chrono::steady_clock::now();
    EXPECT_THROW(sleep(10s), TimeoutError);
    const double took = real_seconds_since(real0);
    EXPECT_GE(took, 0.15) << "fired early: the timer kept its virtual due";
    EXPECT_LT(took, 5.0);
}

TEST_F(VirtualClock, CreatingTheModeInsideAGreenletIsAnError) {
    auto g = spawn([] { Deterministic mode; });
    g->join();
    ASSERT_FALSE(g->successful());
    EXPECT_THROW(std::rethrow_exception(g->exception()), std::logic_error);
}

// Ten greenlets each record their id and yield, five times; returns who ran when.
std::vector<int> interleaving(std::optional<std::uint64_t> seed) {
    Deterministic mode({.virtual_clock = true, .seed = seed});
    std::vector<int> trace;
    std::vector<Ref<GreenletBase>> all;
    for (int id = 0; id < 10; ++id)
        all.push_back(spawn([&trace, id] {
            for (int i = 0; i < 5; ++i) {
                trace.push_back(id);
                sleep();
            }
        }));
    joinall(all);
    return trace;
}

TEST_F(SeededOrder, WithoutASeedTheOrderIsFirstComeFirstServed) {
    const auto trace = interleaving(std::nullopt);
    ASSERT_EQ(trace.size(), 50u);
    for (std::size_t i = 0; i < trace.size(); ++i) EXPECT_EQ(trace[i], int(i % 10));
}

TEST_F(SeededOrder, TheSameSeedReplaysTheSameInterleaving) {
    std::set<std::vector<int>> distinct;
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
        const auto first = interleaving(seed);
        EXPECT_EQ(interleaving(seed), first) << "seed " << seed << " ran differently the second time";
        distinct.insert(first);
    }
    EXPECT_GE(distinct.size(), 6u) << "different seeds should explore different interleavings";
}

// A lost update: read, yield, write. Which increments are lost depends only
// on the order the hub runs the greenlets in — so only on the seed.
int racy_count(std::uint64_t seed) {
    Deterministic mode({.seed = seed});
    int counter = 0;
    std::vector<Ref<GreenletBase>> all;
    for (int id = 0; id < 20; ++id)
        all.push_back(spawn([&counter, id] {
            for (int k = 0; k < 10; ++k) {
                const int seen = counter;
                if ((id + k) % 5 == 0) sleep(1ms);  // timed waits take part too
                if ((id + k) % 3 == 0) sleep();
                counter = seen + 1;
                sleep();
            }
        }));
    joinall(all);
    return counter;
}

TEST_F(SeededOrder, ARaceReproducesWithItsSeed) {
    std::set<int> outcomes;
    for (std::uint64_t seed = 100; seed < 110; ++seed) {
        const int first = racy_count(seed);
        EXPECT_EQ(racy_count(seed), first) << "seed " << seed << " did not reproduce";
        EXPECT_LT(first, 200) << "the race should lose updates";
        outcomes.insert(first);
    }
    EXPECT_GE(outcomes.size(), 2u) << "seeds should lead to different outcomes";
}

}  // namespace
}  // namespace grove
