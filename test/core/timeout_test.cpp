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

// Suite TimeoutTest, not Timeout: the test bodies use grove::Timeout by its own name.
using TimeoutTest = test::LeakChecked;

TEST_F(TimeoutTest, FiresAtTheBlockingPoint) {
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

TEST_F(TimeoutTest, CodeThatDoesNotBlockIsNotInterrupted) {
    Timeout t(0ms);
    volatile long x = 0;
    for (int i = 0; i < 1000; ++i) x = x + i;
    EXPECT_TRUE(t.pending());
}

TEST_F(TimeoutTest, CancelledTimeoutNeverFires) {
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

TEST_F(TimeoutTest, NestedTimeoutsSayWhichFired) {
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

TEST_F(TimeoutTest, OuterFiresFirstThroughAnInnerGuard) {
    Timeout outer(10ms);
    try {
        Timeout inner(5s);
        sleep(5s);
        FAIL();
    } catch (const TimeoutError& e) {
        EXPECT_TRUE(e.from(outer));
    }
}

TEST_F(TimeoutTest, CustomExceptionIsThrownInstead) {
    EXPECT_THROW(
        {
            Timeout t(5ms, std::make_exception_ptr(std::runtime_error("custom")));
            sleep(5s);
        },
        std::runtime_error);
}

TEST_F(TimeoutTest, TimeoutErrorIsNotAStdException) {
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

TEST_F(TimeoutTest, WithTimeoutAndWithTimeoutOr) {
    EXPECT_EQ(with_timeout(1s, [] { return 5; }), 5);
    EXPECT_THROW(with_timeout(5ms, [] { sleep(5s); }), TimeoutError);
    EXPECT_EQ(with_timeout_or(5ms, -1,
                              [] {
                                  sleep(5s);
                                  return 1;
                              }),
              -1);
}

TEST_F(TimeoutTest, InterruptsJoinAndGreenletWaits) {
    auto g = spawn([] { sleep(5s); });
    EXPECT_THROW(
        {
            Timeout t(5ms);
            g->join();
        },
        TimeoutError);
    g->kill();
}

TEST_F(TimeoutTest, NaNIsRejected) {
    EXPECT_THROW(Timeout(Duration(std::nan(""))), std::invalid_argument);
    EXPECT_THROW(sleep(Duration(std::nan(""))), std::invalid_argument);
}

TEST_F(TimeoutTest, ZeroTimeoutOnAReadyGreenletReturnsWithoutSwitching) {
    auto g = spawn([] {});
    g->join();
    GreenletBase* me = getcurrent();
    const auto switches_before = detail::Runtime::record(*me).switches;
    EXPECT_TRUE(g->join(0s));
    Waiter w("ready");
    w.wake();
    EXPECT_TRUE(w.wait(0s));
    EXPECT_EQ(detail::Runtime::record(*me).switches, switches_before);
}

TEST_F(TimeoutTest, FiringWhileAlreadyRunnableGivesExactlyOneOutcome) {
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

TEST_F(TimeoutTest, ATimeoutThatFiresBehindAnotherIsThrownAtTheVeryNextBlockingPoint) {
    // Both guards fire in the same loop turn; the greenlet gets one error
    // and catches it. The other was queued behind it: the next blocking
    // call, even a yield, throws it (no timer re-fires to find that out).
    std::string first, second;
    auto g = spawn([&] {
        Timeout a(0s);
        Timeout b(0s);
        try {
            sleep(10s);
        } catch (const TimeoutError& e) {
            first = e.from(a) ? "a" : e.from(b) ? "b" : "?";
        }
        try {
            sleep(0s);
            second = "none";
        } catch (const TimeoutError& e) {
            second = e.from(a) ? "a" : e.from(b) ? "b" : "?";
        }
    });
    g->join();
    EXPECT_TRUE(g->successful());
    EXPECT_TRUE((first == "a" && second == "b") || (first == "b" && second == "a")) << first << " then " << second;
}

TEST_F(TimeoutTest, AQueuedTimeoutWhoseGuardIsGoneIsNeverThrown) {
    int thrown = 0;
    auto g = spawn([&] {
        {
            Timeout a(0s);
            Timeout b(0s);
            try {
                sleep(10s);
            } catch (const TimeoutError&) {
                ++thrown;
            }
        }  // the other guard ends here, its error still waiting
        sleep(0s);
        sleep(1ms);
    });
    g->join();
    EXPECT_TRUE(g->successful());
    EXPECT_EQ(thrown, 1);
}

// Runs for `d` without yielding: the hub takes no turn meanwhile.
void compute_for(Duration d) {
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(d);
    while (Clock::now() < end) {
    }
}

// A Timeout counts from its start() on the real clock, as gevent's does (its
// Timeout.start and sleep update the loop's time first), not from the hub's
// last look at the clock: armed after a long computation, it would otherwise
// fire early by that long. (29 ms, not 30: the due is rounded to whole ns.)
TEST_F(TimeoutTest, CountsFromItsStartNotFromTheHubsLastTurn) {
    sleep();  // the hub takes a turn now, then none for 60 ms
    compute_for(60ms);
    const auto t0 = Clock::now();
    EXPECT_THROW(
        {
            Timeout t(30ms);
            sleep(5s);
        },
        TimeoutError);
    EXPECT_GE(Clock::now() - t0, 29ms);
}

TEST_F(TimeoutTest, SleepCountsFromItsCallNotFromTheHubsLastTurn) {
    sleep();
    compute_for(60ms);
    const auto t0 = Clock::now();
    sleep(30ms);
    EXPECT_GE(Clock::now() - t0, 29ms);
}

// grove::now() is Clock::now() outside deterministic mode (grove/duration.hpp).
TEST_F(TimeoutTest, GrovesClockIsTheSteadyClock) {
    for (int i = 0; i < 1000; ++i) {
        const auto before = Clock::now();
        const auto ours = now();
        const auto after = Clock::now();
        ASSERT_LE(before, ours);
        ASSERT_LE(ours, after);
    }
}

}  // namespace
}  // namespace grove
