// Timeout guards: firing at the blocking point, nesting, cancellation,
// custom exceptions, with_timeout.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using Timeout_ = test::LeakChecked;

TEST_F(Timeout_, FiresAtTheBlockingPoint) {
    const auto t0 = Clock::now();
    try {
        Timeout t(20ms);
        sleep(5s);
        FAIL() << "not interrupted";
    } catch (const TimeoutError& e) {
        EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos);
    }
    EXPECT_GE(Clock::now() - t0, 19ms);
    EXPECT_LT(Clock::now() - t0, 2s);
}

TEST_F(Timeout_, CodeThatDoesNotBlockIsNotInterrupted) {
    Timeout t(0ms);
    volatile long x = 0;
    for (int i = 0; i < 1000; ++i) x = x + i;
    EXPECT_TRUE(t.pending());
}

TEST_F(Timeout_, CancelledTimeoutNeverFires) {
    {
        Timeout t(5ms);
        t.cancel();
        EXPECT_FALSE(t.pending());
        sleep(20ms);  // would have thrown
    }
    { Timeout t(5ms); }  // destroyed before firing
    sleep(20ms);
    SUCCEED();
}

TEST_F(Timeout_, NestedTimeoutsSayWhichFired) {
    Timeout outer(1s);
    try {
        Timeout inner(10ms);
        sleep(5s);
    } catch (const TimeoutError& e) {
        EXPECT_FALSE(e.from(outer));
    }
    try {
        Timeout inner(5s);
        Timeout shorter_outer_check(10ms);
        try {
            sleep(5s);
        } catch (const TimeoutError& e) {
            EXPECT_TRUE(e.from(shorter_outer_check));
            EXPECT_FALSE(e.from(inner));
            throw;
        }
    } catch (const TimeoutError&) {
    }
}

TEST_F(Timeout_, OuterFiresFirstThroughAnInnerGuard) {
    Timeout outer(10ms);
    try {
        Timeout inner(5s);
        sleep(5s);
        FAIL();
    } catch (const TimeoutError& e) {
        EXPECT_TRUE(e.from(outer));
    }
}

TEST_F(Timeout_, CustomExceptionIsThrownInstead) {
    EXPECT_THROW(
        {
            Timeout t(5ms, std::make_exception_ptr(std::runtime_error("custom")));
            sleep(5s);
        },
        std::runtime_error);
}

TEST_F(Timeout_, TimeoutErrorIsNotAStdException) {
    bool caught_by_std = false;
    bool caught_as_timeout = false;
    try {
        try {
            Timeout t(1ms);
            sleep(1s);
        } catch (const std::exception&) {
            caught_by_std = true;
        }
    } catch (const TimeoutError&) {
        caught_as_timeout = true;
    }
    EXPECT_FALSE(caught_by_std);
    EXPECT_TRUE(caught_as_timeout);
}

TEST_F(Timeout_, WithTimeoutAndWithTimeoutOr) {
    EXPECT_EQ(with_timeout(1s, [] { return 5; }), 5);
    EXPECT_THROW(with_timeout(5ms, [] { sleep(5s); }), TimeoutError);
    EXPECT_EQ(with_timeout_or(5ms, -1,
                              [] {
                                  sleep(5s);
                                  return 1;
                              }),
              -1);
}

TEST_F(Timeout_, InterruptsJoinAndGreenletWaits) {
    auto g = spawn([] { sleep(5s); });
    EXPECT_THROW(
        {
            Timeout t(5ms);
            g->join();
        },
        TimeoutError);
    g->kill();
}

TEST_F(Timeout_, NaNIsRejected) {
    EXPECT_THROW(Timeout(Duration(std::nan(""))), std::invalid_argument);
    EXPECT_THROW(sleep(Duration(std::nan(""))), std::invalid_argument);
}

TEST_F(Timeout_, ZeroTimeoutOnAReadyGreenletReturnsWithoutSwitching) {
    auto g = spawn([] {});
    g->join();
    GreenletBase* me = getcurrent();
    const auto switches_before = detail::Runtime::state(*me).switches;
    EXPECT_TRUE(g->join(0s));
    Waiter w("ready");
    w.wake();
    EXPECT_TRUE(w.wait(0s));
    EXPECT_EQ(detail::Runtime::state(*me).switches, switches_before);
}

TEST_F(Timeout_, FiringWhileAlreadyRunnableGivesExactlyOneOutcome) {
    // The greenlet is woken (runnable) and its Timeout fires in the same loop
    // turn: it sees exactly one outcome, and no stale resume happens later.
    int outcomes = 0;
    auto g = spawn([&] {
        try {
            Timeout t(0s);
            sleep(0s);  // yield: runnable while the 0-second timer fires
            sleep(1ms);
            ++outcomes;
        } catch (const TimeoutError&) {
            ++outcomes;
        }
        sleep(5ms);  // a stale resume would cut this short and nothing else
    });
    g->join();
    EXPECT_EQ(outcomes, 1);
}

}  // namespace
}  // namespace grove
