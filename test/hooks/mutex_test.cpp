// Hooks: std::mutex, std::recursive_mutex, pthread error-checking mutexes and
// std::condition_variable cooperate. Each test runs a "ticker" greenlet that
// counts 10 ms sleeps: it advancing shows the hub kept running while a
// greenlet waited for a lock or a condition.
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/sync/event.hpp>
#include <grove/timeout.hpp>

#include "hooks_support.hpp"
#include "ticker.hpp"

namespace grove::test {
namespace {

using namespace std::chrono_literals;
using Primitives = Hooked;

TEST_F(Primitives, MutexAroundIoOnOneSharedSocket) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    Ticker ticker(Duration(0.01));
    // The server answers each 16-byte request after 20 ms, so the holder of
    // the lock yields inside read() while the others wait for the lock.
    auto server = grove::spawn([&] {
        char buf[16];
        for (int i = 0; i < 8 * 3; ++i) {
            ASSERT_EQ(::recv(sv[1], buf, sizeof buf, MSG_WAITALL), 16);
            grove::sleep(Duration(0.02));
            ASSERT_EQ(::write(sv[1], buf, sizeof buf), 16);
        }
    });
    std::mutex mu;
    int inside = 0, max_inside = 0, ok = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int g = 0; g < 8; ++g)
        gs.push_back(grove::spawn([&, g] {
            for (int i = 0; i < 3; ++i) {
                std::lock_guard lock(mu);
                max_inside = std::max(max_inside, ++inside);
                char req[16] = {}, resp[16] = {};
                std::snprintf(req, sizeof req, "g%d-r%d", g, i);
                ASSERT_EQ(::write(sv[0], req, sizeof req), 16);
                ASSERT_EQ(::recv(sv[0], resp, sizeof resp, MSG_WAITALL), 16);
                EXPECT_EQ(std::memcmp(req, resp, 16), 0) << "a reply crossed another request";
                ok += std::memcmp(req, resp, 16) == 0;
                --inside;
            }
        }));
    joinall(gs);
    server->join();
    EXPECT_EQ(ok, 24);
    EXPECT_EQ(max_inside, 1);
    EXPECT_GE(ticker.stop(), 10);  // ~48 ticks in 0.48 s
    ::close(sv[0]);
    ::close(sv[1]);
}

TEST_F(Primitives, ConditionVariablePoolServesTwentyGreenletsOverThreeConnections) {
    Ticker ticker(Duration(0.01));
    std::mutex mu;
    std::condition_variable cv;
    std::deque<int> pool{0, 1, 2};
    int in_use[3] = {0, 0, 0};
    int served = 0, overlap = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int g = 0; g < 20; ++g)
        gs.push_back(grove::spawn([&] {
            int conn;
            {
                std::unique_lock lock(mu);
                cv.wait(lock, [&] { return !pool.empty(); });
                conn = pool.front();
                pool.pop_front();
            }
            overlap += in_use[conn]++ != 0;
            ::usleep(10000);  // the "I/O" on the checked-out connection
            --in_use[conn];
            ++served;
            {
                std::lock_guard lock(mu);
                pool.push_back(conn);
            }
            cv.notify_one();
        }));
    joinall(gs);
    EXPECT_EQ(served, 20);
    EXPECT_EQ(overlap, 0);
    EXPECT_EQ(pool.size(), 3u);
    EXPECT_GE(ticker.stop(), 3);  // 7 rounds of 10 ms
}

TEST_F(Primitives, RecursiveMutexIsOwnedByTheGreenlet) {
    Ticker ticker(Duration(0.01));
    std::recursive_mutex mu;
    bool a_inside = false, b_saw_a_inside = false, b_got_it = false;
    Event a_holds;
    auto a = grove::spawn([&] {
        std::lock_guard l1(mu);
        std::lock_guard l2(mu);  // recursion by the owner
        a_inside = true;
        a_holds.set();
        ::usleep(50000);  // parks in a hook while holding it
        a_inside = false;
    });
    auto b = grove::spawn([&] {
        a_holds.wait();
        EXPECT_FALSE(mu.try_lock()) << "another greenlet of the same thread got in";
        std::lock_guard l(mu);
        b_saw_a_inside = a_inside;
        b_got_it = true;
    });
    a->join();
    b->join();
    EXPECT_TRUE(b_got_it);
    EXPECT_FALSE(b_saw_a_inside);
    EXPECT_GE(ticker.stop(), 2);
}

TEST_F(Primitives, ErrorCheckingMutexGivesGlibcsCodesPerGreenlet) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t m;
    pthread_mutex_init(&m, &attr);
    pthread_mutexattr_destroy(&attr);
    Event held, checked;
    auto a = grove::spawn([&] {
        EXPECT_EQ(pthread_mutex_lock(&m), 0);
        EXPECT_EQ(pthread_mutex_lock(&m), EDEADLK);
        EXPECT_EQ(pthread_mutex_trylock(&m), EBUSY);
        held.set();
        checked.wait();
        EXPECT_EQ(pthread_mutex_unlock(&m), 0);
    });
    auto b = grove::spawn([&] {
        held.wait();
        EXPECT_EQ(pthread_mutex_trylock(&m), EBUSY);
        EXPECT_EQ(pthread_mutex_unlock(&m), EPERM);
        checked.set();
        EXPECT_EQ(pthread_mutex_lock(&m), 0);  // parks until a unlocks
        EXPECT_EQ(pthread_mutex_unlock(&m), 0);
        EXPECT_EQ(pthread_mutex_unlock(&m), EPERM);
    });
    a->join();
    b->join();
    pthread_mutex_destroy(&m);
}

TEST_F(Primitives, MutexHeldByAPlainThreadDoesNotBlockTheHub) {
    Ticker ticker(Duration(0.01));
    std::mutex mu;
    std::atomic<bool> locked{false};
    int shared = 0;
    std::thread t([&] {
        std::lock_guard l(mu);
        locked = true;
        std::this_thread::sleep_for(200ms);  // a plain thread: the real sleep
        shared = 1;
    });
    while (!locked) grove::sleep(Duration(0.001));
    auto g = grove::spawn([&] {
        std::lock_guard l(mu);
        EXPECT_EQ(shared, 1) << "got the mutex while the thread held it";
        shared = 2;
    });
    g->join();
    t.join();
    EXPECT_EQ(shared, 2);
    EXPECT_GE(ticker.stop(), 8);  // ~20 ticks while the thread held it
}

TEST_F(Primitives, PlainThreadAndGreenletsExcludeEachOther) {
    std::mutex mu;
    long counter = 0;
    std::atomic<bool> stop{false};
    std::thread t([&] {
        for (int i = 0; i < 20000; ++i) {
            std::lock_guard l(mu);
            ++counter;
        }
    });
    std::vector<Ref<GreenletBase>> gs;
    for (int g = 0; g < 4; ++g)
        gs.push_back(grove::spawn([&] {
            for (int i = 0; i < 5000; ++i) {
                std::lock_guard l(mu);
                const long seen = counter;
                if (i % 100 == 0) grove::sleep();  // yield while holding it
                counter = seen + 1;
            }
        }));
    joinall(gs);
    t.join();
    EXPECT_EQ(counter, 40000);
    stop = true;
}

TEST_F(Primitives, SharedMutexReadersShareAndTheWriterExcludes) {
    Ticker ticker(Duration(0.01));
    std::shared_mutex mu;
    int readers = 0, max_readers = 0, writer_inside = 0, bad = 0, value = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int r = 0; r < 5; ++r)
        gs.push_back(grove::spawn([&] {
            std::shared_lock l(mu);
            max_readers = std::max(max_readers, ++readers);
            bad += writer_inside;
            ::usleep(30000);
            --readers;
        }));
    gs.push_back(grove::spawn([&] {
        grove::sleep(Duration(0.005));
        std::unique_lock l(mu);
        writer_inside = 1;
        bad += readers;
        ::usleep(30000);
        value = 42;
        writer_inside = 0;
    }));
    joinall(gs);
    EXPECT_EQ(max_readers, 5);
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(value, 42);
    EXPECT_GE(ticker.stop(), 2);
}

TEST_F(Primitives, CondWaitInterruptedByKillNeitherTerminatesNorSpins) {
    Ticker ticker(Duration(0.01));
    std::mutex mu;
    std::condition_variable cv;
    bool ready = false;
    int wake_calls = 0;
    bool died_in_sleep = false;
    auto g = grove::spawn([&] {
        {
            std::unique_lock l(mu);
            cv.wait(l, [&] {
                ++wake_calls;
                return ready;
            });
        }
        try {
            grove::sleep(Duration(10));
        } catch (const GreenletExit&) {
            died_in_sleep = true;
            throw;
        }
    });
    grove::sleep(Duration(0.03));
    g->kill({}, /*block=*/false);
    grove::sleep(Duration(0.05));
    EXPECT_LE(wake_calls, 3) << "the predicate loop spun";
    EXPECT_FALSE(g->dead());
    {
        std::lock_guard l(mu);
        ready = true;
    }
    cv.notify_all();
    g->join();
    EXPECT_TRUE(died_in_sleep) << "the kill was not kept for the next grove wait";
    EXPECT_TRUE(mu.try_lock()) << "the mutex was left locked";
    mu.unlock();
    EXPECT_GE(ticker.stop(), 3);
}

TEST_F(Primitives, CondWaitInterruptedByTimeout) {
    std::mutex mu;
    std::condition_variable cv;
    auto g = grove::spawn([&] {
        std::unique_lock l(mu);
        Timeout t(Duration(0.02));
        // A C-style single wait: the Timeout ends it as a spurious wake-up.
        cv.wait(l);
        EXPECT_TRUE(l.owns_lock());
        bool timed_out = false;
        try {
            l.unlock();
            grove::sleep(Duration(1));
        } catch (const TimeoutError& e) {
            timed_out = e.from(t);
        }
        EXPECT_TRUE(timed_out) << "the Timeout was lost";
    });
    g->join();
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    auto h = grove::spawn([&] {
        pthread_mutex_lock(&m);
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 30 * 1000000;
        if (ts.tv_nsec >= 1000000000) ts.tv_sec += 1, ts.tv_nsec -= 1000000000;
        EXPECT_EQ(pthread_cond_timedwait(&c, &m, &ts), ETIMEDOUT);
        EXPECT_EQ(pthread_mutex_unlock(&m), 0);
    });
    h->join();
}

TEST_F(Primitives, KilledMutexWaiterStillTakesTheLockThenDiesAtItsNextGroveWait) {
    std::mutex mu;
    bool got = false, died_later = false;
    Event holder_in;
    auto holder = grove::spawn([&] {
        std::lock_guard l(mu);
        holder_in.set();
        ::usleep(50000);
    });
    auto waiter = grove::spawn([&] {
        holder_in.wait();
        mu.lock();  // parks; the kill arrives meanwhile
        got = true;
        mu.unlock();
        try {
            grove::sleep(Duration(5));
        } catch (const GreenletExit&) {
            died_later = true;
            throw;
        }
    });
    grove::sleep(Duration(0.02));
    waiter->kill({}, /*block=*/false);
    holder->join();
    waiter->join();
    EXPECT_TRUE(got) << "the C way: the lock is still taken (callers never check pthread_mutex_lock)";
    EXPECT_TRUE(died_later);
    EXPECT_TRUE(mu.try_lock());
    mu.unlock();
}

TEST_F(Primitives, KilledMutexWaiterNeverThrowsEvenUnderPropagateInterrupts) {
    // glibc declares pthread_mutex_lock noexcept: a throw would terminate.
    std::mutex mu;
    bool got = false, died_later = false;
    Event holder_in;
    auto holder = grove::spawn([&] {
        std::lock_guard l(mu);
        holder_in.set();
        ::usleep(50000);
    });
    auto waiter = grove::spawn([&] {
        holder_in.wait();
        {
            monkey::PropagateInterrupts propagate;
            mu.lock();
            got = true;
            mu.unlock();
        }
        try {
            grove::sleep(Duration(5));
        } catch (const GreenletExit&) {
            died_later = true;
            throw;
        }
    });
    grove::sleep(Duration(0.02));
    waiter->kill({}, /*block=*/false);
    waiter->join();
    holder->join();
    EXPECT_TRUE(got);
    EXPECT_TRUE(died_later);
    EXPECT_TRUE(mu.try_lock()) << "the lock was left taken";
    mu.unlock();
}

TEST_F(Primitives, CondSignalFromAPlainThreadWakesAGreenlet) {
    Ticker ticker(Duration(0.01));
    std::mutex mu;
    std::condition_variable cv;
    int value = 0;
    auto g = grove::spawn([&] {
        std::unique_lock l(mu);
        cv.wait(l, [&] { return value != 0; });
        EXPECT_EQ(value, 7);
    });
    std::thread t([&] {
        std::this_thread::sleep_for(100ms);
        {
            std::lock_guard l(mu);
            value = 7;
        }
        cv.notify_one();
    });
    g->join();
    t.join();
    EXPECT_GE(ticker.stop(), 4);
}

}  // namespace
}  // namespace grove::test
