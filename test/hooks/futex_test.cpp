// Hooks: futex-based waits (std::future, shared_future, atomic::wait, latch,
// counting_semaphore), POSIX semaphores, std::thread::join and sched_yield
// cooperate. Each test runs a "ticker" greenlet counting 10 ms sleeps: it
// advancing shows the hub kept running during the wait.
#include <semaphore.h>

#include <atomic>
#include <barrier>
#include <future>
#include <latch>
#include <semaphore>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "hooks_support.hpp"
#include "ticker.hpp"

namespace grove::test {
namespace {

using namespace std::chrono_literals;
using Futex = Hooked;

TEST_F(Futex, AsyncFutureGetLetsTheHubRun) {
    Ticker ticker(Duration(0.01));
    auto g = grove::spawn([] {
        auto f = std::async(std::launch::async, [] {
            std::this_thread::sleep_for(150ms);
            return 42;
        });
        EXPECT_EQ(f.get(), 42);  // futex wait, then the async thread's join
    });
    g->join();
    EXPECT_GE(ticker.stop(), 5);  // ~15
}

TEST_F(Futex, SharedFutureWakesEveryWaitingGreenlet) {
    Ticker ticker(Duration(0.01));
    std::promise<int> p;
    std::shared_future<int> f = p.get_future().share();
    int sum = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < 10; ++i) gs.push_back(grove::spawn([&] { sum += f.get(); }));
    std::thread t([&] {
        std::this_thread::sleep_for(100ms);
        p.set_value(5);
    });
    joinall(gs);
    t.join();
    EXPECT_EQ(sum, 50);
    EXPECT_GE(ticker.stop(), 4);
}

TEST_F(Futex, ThreadJoinLetsTheHubRun) {
    Ticker ticker(Duration(0.01));
    int result = 0;
    auto g = grove::spawn([&] {
        std::thread t([&] {
            std::this_thread::sleep_for(150ms);
            result = 7;
        });
        t.join();
        EXPECT_EQ(result, 7);
    });
    g->join();
    EXPECT_EQ(result, 7);
    EXPECT_GE(ticker.stop(), 5);
}

TEST_F(Futex, LatchCountedDownByThreadsReleasesGreenlets) {
    Ticker ticker(Duration(0.01));
    std::latch done(3);
    std::atomic<int> work{0};
    int released = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < 5; ++i)
        gs.push_back(grove::spawn([&] {
            done.wait();
            EXPECT_EQ(work.load(), 3);
            ++released;
        }));
    std::vector<std::thread> ts;
    for (int i = 0; i < 3; ++i)
        ts.emplace_back([&] {
            std::this_thread::sleep_for(100ms);
            ++work;
            done.count_down();
        });
    joinall(gs);
    for (auto& t : ts) t.join();
    EXPECT_EQ(released, 5);
    EXPECT_GE(ticker.stop(), 4);
}

TEST_F(Futex, BarrierPhasesWithGreenletsAndAThread) {
    Ticker ticker(Duration(0.01));
    int completions = 0;
    std::barrier sync(3, [&]() noexcept { ++completions; });
    int phases_seen = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < 2; ++i)
        gs.push_back(grove::spawn([&] {
            for (int phase = 0; phase < 3; ++phase) {
                sync.arrive_and_wait();
                ++phases_seen;
            }
        }));
    std::thread t([&] {
        for (int phase = 0; phase < 3; ++phase) {
            std::this_thread::sleep_for(30ms);
            sync.arrive_and_wait();
        }
    });
    joinall(gs);
    t.join();
    EXPECT_EQ(completions, 3);
    EXPECT_EQ(phases_seen, 6);
    EXPECT_GE(ticker.stop(), 3);
}

TEST_F(Futex, CountingSemaphoreBetweenGreenletsAndAThread) {
    Ticker ticker(Duration(0.01));
    std::counting_semaphore<> sem(0);
    int got = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < 6; ++i)
        gs.push_back(grove::spawn([&] {
            sem.acquire();
            ++got;
        }));
    std::thread t([&] {
        for (int i = 0; i < 6; ++i) {
            std::this_thread::sleep_for(20ms);
            sem.release();
        }
    });
    joinall(gs);
    t.join();
    EXPECT_EQ(got, 6);
    EXPECT_FALSE(sem.try_acquire()) << "a permit was created or kept twice";
    EXPECT_GE(ticker.stop(), 4);
}

TEST_F(Futex, AtomicWaitNotifyBetweenGreenlets) {
    Ticker ticker(Duration(0.01));
    std::atomic<int> flag{0};
    int seen = 0;
    auto waiter = grove::spawn([&] {
        flag.wait(0);
        seen = flag.load();
    });
    auto setter = grove::spawn([&] {
        grove::sleep(Duration(0.05));
        flag = 3;
        flag.notify_all();
    });
    joinall(std::vector<Ref<GreenletBase>>{waiter, setter});
    EXPECT_EQ(seen, 3);
    EXPECT_GE(ticker.stop(), 2);
}

TEST_F(Futex, PosixSemaphorePostedByAThread) {
    Ticker ticker(Duration(0.01));
    sem_t s;
    ASSERT_EQ(sem_init(&s, 0, 0), 0);
    int got = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < 4; ++i)
        gs.push_back(grove::spawn([&] {
            EXPECT_EQ(sem_wait(&s), 0);
            ++got;
        }));
    gs.push_back(grove::spawn([&] {
        EXPECT_EQ(sem_trywait(&s), -1);
        EXPECT_EQ(errno, EAGAIN);
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20 * 1000000;
        if (ts.tv_nsec >= 1000000000) ts.tv_sec += 1, ts.tv_nsec -= 1000000000;
        EXPECT_EQ(sem_timedwait(&s, &ts), -1);
        EXPECT_EQ(errno, ETIMEDOUT);
    }));
    std::thread t([&] {
        std::this_thread::sleep_for(100ms);
        for (int i = 0; i < 4; ++i) sem_post(&s);
    });
    joinall(gs);
    t.join();
    EXPECT_EQ(got, 4);
    int left = -1;
    sem_getvalue(&s, &left);
    EXPECT_EQ(left, 0);
    sem_destroy(&s);
    EXPECT_GE(ticker.stop(), 4);
}

TEST_F(Futex, SemWaitKilledFailsWithEcanceledAndTakesNoToken) {
    sem_t s;
    ASSERT_EQ(sem_init(&s, 0, 0), 0);
    int rc = 0, err = 0;
    auto g = grove::spawn([&] {
        rc = sem_wait(&s);
        err = errno;
    });
    grove::sleep(Duration(0.02));
    g->kill();
    EXPECT_EQ(rc, -1);
    EXPECT_EQ(err, ECANCELED);
    sem_post(&s);
    int left = -1;
    sem_getvalue(&s, &left);
    EXPECT_EQ(left, 1);
    sem_destroy(&s);
}

TEST_F(Futex, SchedYieldLetsOtherGreenletsRun) {
    bool flag = false;
    int spins = 0;
    auto spinner = grove::spawn([&] {
        while (!flag) {
            std::this_thread::yield();
            ++spins;
        }
    });
    auto setter = grove::spawn([&] { flag = true; });
    spinner->join();
    setter->join();
    EXPECT_TRUE(flag);
    EXPECT_LE(spins, 3);
}

}  // namespace
}  // namespace grove::test
