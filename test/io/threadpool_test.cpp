// grove io — ThreadPool: blocking work on OS threads, waited for cooperatively.
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/io.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;

class ThreadPoolTest : public test::LeakChecked {};

TEST_F(ThreadPoolTest, ApplyReturnsTheValueFromAnotherThread) {
    ThreadPool pool(2);
    const auto me = std::this_thread::get_id();
    auto other = pool.apply([] { return std::this_thread::get_id(); });
    EXPECT_NE(other, me);
    EXPECT_EQ(pool.apply([] { return 6 * 7; }), 42);
    EXPECT_EQ(pool.size(), 2u);
}

TEST_F(ThreadPoolTest, ExceptionsPropagateToTheWaiter) {
    ThreadPool pool(1);
    EXPECT_THROW(pool.apply([]() -> int { throw std::out_of_range("from the worker"); }), std::out_of_range);
    EXPECT_NO_THROW(pool.apply([] {}));
}

TEST_F(ThreadPoolTest, ManyBlockingJobsRunInParallelWhileGreenletsRun) {
    ThreadPool pool(10);
    int ticks = 0;
    bool done = false;
    auto heartbeat = spawn([&] {
        while (!done) {
            grove::sleep(5ms);
            ++ticks;
        }
    });
    const auto t0 = Clock::now();
    std::vector<Ref<GreenletBase>> jobs;
    std::atomic<int> ran{0};
    for (int i = 0; i < 50; ++i)
        jobs.push_back(pool.spawn([&ran] {
            ::usleep(40000);
            ++ran;
        }));
    joinall(jobs);
    const auto elapsed = Clock::now() - t0;
    done = true;
    heartbeat->join();
    EXPECT_EQ(ran.load(), 50);
    EXPECT_LT(elapsed, 1500ms) << "5 rounds of 40 ms on 10 threads take ~200 ms; one at a time, 2 s";
    EXPECT_GE(ticks, 5) << "the hub was blocked while jobs ran";
}

TEST_F(ThreadPoolTest, JoinWaitsForEverySubmittedJobAndTimesOut) {
    ThreadPool pool(4);
    std::atomic<int> done{0};
    for (int i = 0; i < 8; ++i) pool.submit([] { std::this_thread::sleep_for(20ms); }, [&done] { ++done; });
    EXPECT_FALSE(pool.join(1ms));
    EXPECT_TRUE(pool.join(5s));
    EXPECT_EQ(done.load(), 8);
    EXPECT_TRUE(pool.join(0s));  // nothing in flight: at once
}

TEST_F(ThreadPoolTest, MapKeepsInputOrder) {
    ThreadPool pool(4);
    std::vector<int> in{5, 1, 4, 2, 3};
    auto out = pool.map(
        [](int x) {
            ::usleep(static_cast<useconds_t>(x * 1000));
            return x * 10;
        },
        in);
    EXPECT_EQ(out, (std::vector<int>{50, 10, 40, 20, 30}));
}

TEST_F(ThreadPoolTest, KilledWaiterDropsTheLateResultSafely) {
    ThreadPool pool(1);
    std::atomic<bool> finished{false};
    auto g = spawn([&] {
        return pool.apply([&] {
            ::usleep(30000);
            finished = true;
            return std::string("late");
        });
    });
    grove::sleep(5ms);
    g->kill();
    EXPECT_TRUE(g->dead());
    EXPECT_FALSE(finished.load());
    while (!finished) grove::sleep(5ms);
    grove::sleep(10ms);  // the completion arrives and finds nobody
    EXPECT_EQ(pool.apply([] { return 1; }), 1);
}

TEST_F(ThreadPoolTest, TimeoutInterruptsTheWait) {
    ThreadPool pool(1);
    std::atomic<bool> finished{false};
    {
        Timeout t(5ms);
        EXPECT_THROW(pool.apply([&] {
            ::usleep(30000);
            finished = true;
        }),
                     TimeoutError);
    }
    while (!finished) grove::sleep(5ms);
    grove::sleep(10ms);
}

TEST_F(ThreadPoolTest, MainGreenletWaitingAloneGetsNoLoopExit) {
    ThreadPool pool(1);
    EXPECT_EQ(pool.apply([] {
        ::usleep(10000);
        return 3;
    }),
              3);
}

TEST_F(ThreadPoolTest, DefaultPoolIsPerThread) {
    ThreadPool& a = get_threadpool();
    EXPECT_EQ(&a, &get_threadpool());
    EXPECT_GE(a.size(), 1u);
    ThreadPool* other = nullptr;
    std::thread([&] { other = &get_threadpool(); }).join();
    EXPECT_NE(other, &a);
}

TEST(ThreadPoolContract, ZeroThreadsIsRejected) { EXPECT_THROW(ThreadPool(0), std::invalid_argument); }

}  // namespace
}  // namespace grove
