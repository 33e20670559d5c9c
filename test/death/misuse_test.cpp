// Misuse and what you get: each misuse of the API gets a clear exception (the
// exact type, a message naming the call) or a documented no-op — never a
// crash, a hang or silent corruption. The table in README-section.md lists
// the same cases, one row per test here.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/io/socket.hpp>
#include <grove/io/threadpool.hpp>
#include <grove/io/wait.hpp>
#include <grove/sync/async_result.hpp>
#include <grove/sync/event.hpp>
#include <grove/sync/joinable_queue.hpp>
#include <grove/sync/lock.hpp>
#include <grove/sync/pool.hpp>
#include <grove/sync/queue.hpp>
#include <grove/sync/semaphore.hpp>
#include <grove/timeout.hpp>

#include "capture.hpp"
#include "leak_check.hpp"
#include "runtime.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using Misuse = test::LeakChecked;

const Duration kNaN{std::numeric_limits<double>::quiet_NaN()};
const Duration kInf{std::numeric_limits<double>::infinity()};

// Runs `f` and returns the std::exception message it threw ("" if none).
template <class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

// --- durations -------------------------------------------------------------------

TEST_F(Misuse, NaNDurationIsInvalidArgumentEverywhere) {
    Event ev;
    Semaphore sem(0);
    Queue<int> q;
    AsyncResult<int> r;
    auto g = spawn([] { sleep(10s); });
    EXPECT_THROW(sleep(kNaN), std::invalid_argument);
    EXPECT_THROW(Timeout{kNaN}, std::invalid_argument);
    EXPECT_THROW(ev.wait(kNaN), std::invalid_argument);
    EXPECT_THROW(sem.acquire(true, kNaN), std::invalid_argument);
    EXPECT_THROW(q.get(true, kNaN), std::invalid_argument);
    EXPECT_THROW(q.peek(true, kNaN), std::invalid_argument);
    EXPECT_THROW(r.get(true, kNaN), std::invalid_argument);
    EXPECT_THROW(g->join(kNaN), std::invalid_argument);
    EXPECT_THROW(spawn_later(kNaN, [] {}), std::invalid_argument);
    EXPECT_NE(message_of([&] { ev.wait(kNaN); }).find("NaN"), std::string::npos);
    EXPECT_EQ(sem.waiting() + q.waiting_getters(), 0u) << "a refused wait left a waiter behind";
    g->kill();
}

TEST_F(Misuse, NegativeDurationPollsOnceAndDoesNotWait) {
    Event ev;
    Semaphore sem(0);
    Queue<int> q;
    const auto t0 = Clock::now();
    EXPECT_FALSE(ev.wait(-5s));
    EXPECT_FALSE(sem.acquire(true, -5s));
    EXPECT_THROW(q.get(true, -5s), QueueEmpty);
    EXPECT_NO_THROW(sleep(-5s));  // a yield
    EXPECT_LT(Clock::now() - t0, 1s);
}

TEST_F(Misuse, NegativeTimeoutGuardFiresAtTheNextBlockingPoint) {
    EXPECT_THROW(
        {
            Timeout t(-1s);
            sleep(1s);
        },
        TimeoutError);
}

TEST_F(Misuse, HugeAndInfiniteDurationsMeanForever) {
    for (Duration d : {Duration(1e300), kInf, Duration(std::numeric_limits<double>::max())}) {
        Event ev;
        auto sleeper = spawn([d] { sleep(d); });
        auto waiter = spawn([&ev, d] { return ev.wait(d); });
        auto guarded = spawn([d] {
            Timeout t(d);
            sleep(20ms);
            return true;  // a huge guard never fires
        });
        EXPECT_TRUE(*guarded->get());
        EXPECT_FALSE(sleeper->dead()) << "a huge sleep ended early: " << d.count();
        EXPECT_FALSE(waiter->dead());
        ev.set();
        EXPECT_TRUE(*waiter->get());
        sleeper->kill();
    }
}

// --- file descriptors ---------------------------------------------------------------

TEST_F(Misuse, WaitReadOnANegativeFdIsInvalidArgument) {
    EXPECT_THROW(wait_read(-1), std::invalid_argument);
    EXPECT_THROW(wait_write(-7, 1s), std::invalid_argument);
}

// Regression: an fd number that is not open used to reach libev, whose
// epoll backend asserts and aborts the process.
TEST_F(Misuse, WaitReadOnAClosedFdIsEbadfNotAHang) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ::close(fds[0]);
    ::close(fds[1]);
    try {
        wait_read(fds[0], 2s);
        ADD_FAILURE() << "wait_read on a closed fd returned";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EBADF) << e.what();
    } catch (const TimeoutError&) {
        ADD_FAILURE() << "wait_read on a closed fd hung until its timeout";
    }
}

TEST_F(Misuse, SocketOperationsAfterCloseAreEbadf) {
    auto [a, b] = Socket::pair();
    a.close();
    a.close();  // a second close is a no-op
    try {
        a.recv(1);
        ADD_FAILURE() << "recv on a closed Socket returned";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EBADF) << e.what();
    }
    EXPECT_THROW(a.sendall("x"), std::system_error);
}

// --- greenlets -------------------------------------------------------------------------

TEST_F(Misuse, DoubleKillIsANoOp) {
    auto g = spawn([] { sleep(10s); });
    sleep();
    g->kill();
    EXPECT_NO_THROW(g->kill());
    EXPECT_NO_THROW(g->kill({}, false));
    EXPECT_TRUE(g->successful());
}

TEST_F(Misuse, JoinSelfIsLogicError) {
    auto g = spawn([] { return message_of([] { getcurrent()->join(); }); });
    const std::string text = *g->get();
    EXPECT_FALSE(text.empty());
    EXPECT_NE(text.find("join"), std::string::npos) << text;
}

TEST_F(Misuse, GreenletUsedFromAnotherThreadIsLogicError) {
    auto g = spawn([] { sleep(50ms); });
    std::string join_error, kill_error;
    std::thread other([&] {
        join_error = message_of([&] { g->join(); });
        kill_error = message_of([&] { g->kill(); });
    });
    other.join();
    EXPECT_NE(join_error.find("another thread"), std::string::npos) << join_error;
    EXPECT_NE(kill_error.find("another thread"), std::string::npos) << kill_error;
    EXPECT_TRUE(g->join(1s));
}

TEST_F(Misuse, GreenletNotOwnedByARefCannotStart) {
    class Plain : public Greenlet<void> {
    public:
        void run() override {}
    };
    Plain on_the_stack;
    const std::string text = message_of([&] { on_the_stack.start(); });
    EXPECT_NE(text.find("grove::Ref"), std::string::npos) << text;
    EXPECT_FALSE(on_the_stack.started());
}

TEST_F(Misuse, SetOptionsAfterStartIsLogicError) {
    auto g = spawn([] {});
    EXPECT_THROW(g->set_options(SpawnOptions{}), std::logic_error);
    g->join();
}

TEST_F(Misuse, UnmappableStackKillsTheGreenletWithSystemErrorNotTheProcess) {
    test::StderrCapture err;
    auto g = spawn_with(SpawnOptions{std::size_t(1) << 46, {}}, [] { return 1; });  // 64 TiB
    EXPECT_THROW(g->get(), std::system_error);
    EXPECT_EQ(*spawn([] { return 2; })->get(), 2) << "the hub must carry on";
}

// Regression: a greenlet whose stack could not be mapped kept its own
// self-reference and was never freed.
TEST_F(Misuse, GreenletWhoseStackCannotBeMappedIsFreed) {
    test::StderrCapture err;
    std::weak_ptr<GreenletBase> weak;
    {
        auto g = spawn_with(SpawnOptions{std::size_t(1) << 46, {}}, [] { return 1; });
        weak = g;
        EXPECT_THROW(g->get(), std::system_error);
    }
    sleep();
    sleep();
    EXPECT_TRUE(weak.expired()) << "the failed greenlet is still owned by someone";
}

// --- blocking in the hub ------------------------------------------------------------

TEST_F(Misuse, BlockingInAHubCallbackIsLogicErrorNamingTheHub) {
    std::string text;
    get_hub().run_callback([&] { text = message_of([] { sleep(1ms); }); });
    sleep(1ms);
    EXPECT_NE(text.find("cannot block in the hub"), std::string::npos) << text;
}

TEST_F(Misuse, HubDestroyFromAGreenletIsLogicError) {
    auto g = spawn([] { return message_of([] { get_hub().destroy(); }); });
    EXPECT_NE(g->get()->find("main greenlet"), std::string::npos);
}

// --- locks and semaphores -------------------------------------------------------------

TEST_F(Misuse, ReleasingAnUnlockedLockIsLogicError) {
    Lock lock;
    EXPECT_THROW(lock.release(), std::logic_error);
    EXPECT_FALSE(lock.locked());
    EXPECT_TRUE(lock.acquire(false)) << "the failed release must not have added a permit";
    EXPECT_FALSE(lock.acquire(false));
    lock.release();
}

TEST_F(Misuse, ReleasingAnRLockYouDoNotOwnIsLogicError) {
    RLock lock;
    EXPECT_THROW(lock.release(), std::logic_error);  // not held at all
    auto owner = spawn([&] {
        lock.acquire();
        sleep(20ms);
        lock.release();
    });
    sleep();
    ASSERT_EQ(lock.owner(), owner.get());
    EXPECT_THROW(lock.release(), std::logic_error);  // held by another greenlet
    EXPECT_EQ(lock.owner(), owner.get());
    owner->join();
    EXPECT_FALSE(lock.locked());
}

TEST_F(Misuse, OverReleasingABoundedSemaphoreIsLogicError) {
    BoundedSemaphore sem(2);
    EXPECT_THROW(sem.release(), std::logic_error);
    EXPECT_EQ(sem.counter(), 2);
}

TEST_F(Misuse, InvalidConstructionArgumentsAreInvalidArgument) {
    EXPECT_THROW(Semaphore(-1), std::invalid_argument);
    EXPECT_THROW(Pool(0), std::invalid_argument);
    EXPECT_THROW(ThreadPool(0), std::invalid_argument);
}

// --- queues and results ------------------------------------------------------------------

TEST_F(Misuse, TaskDoneTooOftenIsLogicError) {
    JoinableQueue<int> q;
    q.put(1);
    q.get();
    q.task_done();
    EXPECT_THROW(q.task_done(), std::logic_error);
}

TEST_F(Misuse, SettingAnAsyncResultTwiceIsLogicError) {
    AsyncResult<int> r;
    r.set(1);
    EXPECT_THROW(r.set(2), std::logic_error);
    EXPECT_THROW(r.set_exception(std::make_exception_ptr(std::runtime_error("x"))), std::logic_error);
    EXPECT_EQ(r.get(), 1) << "the first value stays";
}

TEST_F(Misuse, PutAfterShutdownIsQueueShutDown) {
    Queue<int> q;
    q.shutdown();
    q.shutdown();  // idempotent
    EXPECT_THROW(q.put(1), QueueShutDown);
    EXPECT_THROW(q.get(), QueueShutDown);
}

TEST_F(Misuse, WaitingForeverWithNothingToWakeIsLoopExitNamingTheWait) {
    Event never;
    try {
        never.wait();
        ADD_FAILURE() << "returned";
    } catch (const LoopExit& e) {
        EXPECT_NE(std::string(e.what()).find("Event"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace grove
