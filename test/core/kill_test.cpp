// kill(): GreenletExit at the blocking point, custom exceptions, kill before
// start, kill with timeout, self-kill, destructors on the way out.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/timeout.hpp>

#include "capture.hpp"
#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using Kill = test::LeakChecked;

// Seed document: g = Greenlet(gevent.sleep, 4); g.start(); g.kill(); g.dead → True
TEST_F(Kill, KillingASleepingGreenletMakesItDead) {
    auto g = spawn([] { sleep(4s); });
    sleep();
    const auto t0 = Clock::now();
    g->kill();
    EXPECT_TRUE(g->dead());
    EXPECT_TRUE(g->successful());  // a GreenletExit end counts as successful
    EXPECT_FALSE(g->exception());
    EXPECT_LT(Clock::now() - t0, 1s);
}

TEST_F(Kill, GreenletExitIsDeliveredAtTheBlockingPoint) {
    std::vector<std::string> trail;
    auto g = spawn([&] {
        trail.push_back("before");
        try {
            sleep(10s);
        } catch (const GreenletExit&) {
            trail.push_back("exit at sleep");
            throw;
        }
        trail.push_back("after");
    });
    sleep();
    g->kill();
    EXPECT_EQ(trail, (std::vector<std::string>{"before", "exit at sleep"}));
}

// Seed document: "The GreenletExit is returned by get as if it were returned by the greenlet, not raised."
TEST_F(Kill, GetReturnsTheGreenletExitInsteadOfThrowing) {
    auto g = spawn([] {
        sleep(10s);
        return 1;
    });
    sleep();
    g->kill();
    auto outcome = g->get();
    EXPECT_TRUE(outcome.exited());
    EXPECT_TRUE(outcome.exit());
    EXPECT_THROW(outcome.value(), GreenletExit);
}

// Seed document: g.kill(Exception("A time to kill")) → the report names it, get() raises it.
TEST_F(Kill, CustomExceptionIsRaisedAndReported) {
    test::StderrCapture err;
    auto g = spawn([] { sleep(5s); });
    sleep();
    g->kill(std::make_exception_ptr(std::runtime_error("A time to kill")));
    EXPECT_THROW(g->get(), std::runtime_error);
    const std::string text = err.take();
    EXPECT_NE(text.find("std::runtime_error: A time to kill"), std::string::npos) << text;
    EXPECT_NE(text.find("failed with std::runtime_error"), std::string::npos) << text;
}

TEST_F(Kill, KillBeforeStartMeansItNeverRuns) {
    bool ran = false;
    int links = 0;
    auto g = spawn([&] { ran = true; });
    g->link([&](GreenletBase&) { ++links; });
    g->kill();
    EXPECT_TRUE(g->dead());
    EXPECT_TRUE(g->successful());
    sleep(1ms);
    EXPECT_FALSE(ran);
    EXPECT_EQ(links, 1);
    EXPECT_TRUE(g->get().exited());
}

TEST_F(Kill, KillBeforeStartLaterCancelsTheStart) {
    bool ran = false;
    auto g = spawn_later(5ms, [&] { ran = true; });
    g->kill();
    sleep(20ms);
    EXPECT_FALSE(ran);
    EXPECT_TRUE(g->dead());
}

TEST_F(Kill, KillingADeadGreenletIsANoOp) {
    auto g = spawn([] { return 3; });
    g->join();
    g->kill();
    g->kill(std::make_exception_ptr(std::runtime_error("late")));
    EXPECT_TRUE(g->successful());
    EXPECT_EQ(*g->get(), 3);
}

TEST_F(Kill, SecondKillWhileTheFirstIsUndeliveredKeepsTheFirst) {
    auto g = spawn([] { sleep(5s); });
    sleep();
    g->kill({}, false);
    g->kill(std::make_exception_ptr(std::runtime_error("second")), false);
    g->join();
    EXPECT_TRUE(g->successful());
}

// Seed document: a greenlet that ignores GreenletExit is handled by kill(..., timeout).
TEST_F(Kill, KillWithTimeoutReturnsWhenTheTargetSwallowsTheExit) {
    int swallowed = 0;
    auto g = spawn([&] {
        for (;;) {
            try {
                sleep(20ms);
                return;
            } catch (const GreenletExit&) {
                ++swallowed;
            }
        }
    });
    sleep();
    g->kill({}, true, 5ms);
    EXPECT_EQ(swallowed, 1);
    EXPECT_FALSE(g->dead());
    g->join();
    EXPECT_TRUE(g->dead());
}

TEST_F(Kill, KillingYourselfRaisesInYourself) {
    bool after = false;
    Ref<Greenlet<void>> g;
    g = spawn([&] {
        g->kill();
        after = true;
    });
    g->join();
    EXPECT_FALSE(after);
    EXPECT_TRUE(g->successful());
}

struct Tracker {
    explicit Tracker(std::vector<std::string>& log, std::string name) : log_(log), name_(std::move(name)) {}
    ~Tracker() { log_.push_back(name_); }
    std::vector<std::string>& log_;
    std::string name_;
};

TEST_F(Kill, DestructorsRunOnKill) {
    std::vector<std::string> log;
    auto g = spawn([&] {
        Tracker outer(log, "outer");
        {
            Tracker inner(log, "inner");
            sleep(10s);
        }
    });
    sleep();
    g->kill();
    EXPECT_EQ(log, (std::vector<std::string>{"inner", "outer"}));
}

TEST_F(Kill, DestructorsRunWhenTheHubIsDestroyed) {
    std::vector<std::string> log;
    auto g = spawn([&] {
        Tracker t(log, "on stack");
        sleep(100s);
    });
    sleep();
    get_hub().destroy();
    EXPECT_EQ(log, (std::vector<std::string>{"on stack"}));
    EXPECT_TRUE(g->dead());
}

TEST_F(Kill, HubDestructionWithAGreenletThatNeverStarted) {
    bool ran = false;
    auto g = spawn([&] { ran = true; });
    get_hub().destroy();
    EXPECT_FALSE(ran);
    EXPECT_TRUE(g->dead());
}

// A kill aimed at a greenlet blocked inside a destructor during unwinding must
// not call std::terminate: it is deferred until the destructor is done.
struct BlocksInDestructor {
    std::vector<std::string>& log;
    ~BlocksInDestructor() {
        try {
            sleep(5ms);
            log.push_back("destructor finished its wait");
        } catch (...) {
            log.push_back("destructor got an exception");
        }
    }
};

TEST_F(Kill, KillDuringADestructorIsDeferredNotTerminate) {
    std::vector<std::string> log;
    auto g = spawn([&] {
        BlocksInDestructor b{log};
        throw std::runtime_error("unwinding");
    });
    test::StderrCapture quiet;
    sleep();  // g is now inside the destructor's sleep
    g->kill({}, false);
    g->join();
    EXPECT_EQ(log, (std::vector<std::string>{"destructor finished its wait"}));
    EXPECT_THROW(g->get(), std::runtime_error);
}

TEST_F(Kill, KillallKillsEveryone) {
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < 10; ++i) gs.push_back(spawn([] { sleep(10s); }));
    sleep();
    killall(gs);
    for (auto& g : gs) EXPECT_TRUE(g->dead());
}

}  // namespace
}  // namespace grove
