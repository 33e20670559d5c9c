// joinall/killall as gevent's: joinall(raise_error) raises the first failure
// in time, killall(block, timeout) raises TimeoutError when greenlets outlive
// the timeout, and unlink() from inside a link callback stops a later link.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <grove/deterministic.hpp>
#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/timeout.hpp>

#include "capture.hpp"
#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using Joinall = test::LeakChecked;
using Killall = test::LeakChecked;
using Link = test::LeakChecked;

std::string what_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    }
}

// gevent: joinall waits on all at once (iwait), so a failure is raised as soon
// as it happens, whatever its position. The virtual clock makes "as soon as"
// exact: the sleeper listed first would hold a join-in-order for an hour.
TEST_F(Joinall, RaiseErrorRaisesAFailureAsSoonAsItHappensNotByPosition) {
    test::StderrCapture quiet;  // the failures' reports
    Deterministic mode;
    auto sleeper = spawn([] { sleep(3600s); });
    auto failer = spawn([] {
        sleep(1s);
        throw std::runtime_error("second in the list, first to fail");
    });
    const Deadline t0 = now();
    std::exception_ptr raised;
    try {
        joinall({sleeper, failer}, 7200s, true);
    } catch (...) {
        raised = std::current_exception();
    }
    ASSERT_TRUE(raised);
    EXPECT_EQ(what_of(raised), "second in the list, first to fail");
    EXPECT_EQ(now() - t0, std::chrono::seconds(1)) << "raised when the failure happened, not when the sleeper ended";
    EXPECT_FALSE(sleeper->dead());
    sleeper->kill();
}

TEST_F(Joinall, RaiseErrorRaisesTheEarliestOfSeveralFailures) {
    test::StderrCapture quiet;  // the failures' reports
    Deterministic mode;
    auto late = spawn([] {
        sleep(20s);
        throw std::runtime_error("late");
    });
    auto early = spawn([] {
        sleep(10s);
        throw std::runtime_error("early");
    });
    std::exception_ptr raised;
    try {
        joinall({late, early}, {}, true);
    } catch (...) {
        raised = std::current_exception();
    }
    ASSERT_TRUE(raised);
    EXPECT_EQ(what_of(raised), "early");
    late->kill();
}

TEST_F(Joinall, RaiseErrorUnderATimeoutGuardRaisesTheFailureNotTheTimeout) {
    test::StderrCapture quiet;  // the failures' reports
    Deterministic mode;
    auto sleeper = spawn([] { sleep(3600s); });
    auto failer = spawn([] { throw std::runtime_error("boom"); });
    Timeout guard(1s);
    EXPECT_THROW(joinall({sleeper, failer}, {}, true), std::runtime_error);
    sleeper->kill();
}

TEST_F(Joinall, WithoutRaiseErrorReturnsTheFinishedOnesInInputOrderAtTheTimeout) {
    test::StderrCapture quiet;  // the failures' reports
    Deterministic mode;
    auto sleeper = spawn([] { sleep(3600s); });
    auto failer = spawn([] { throw std::runtime_error("kept for get()"); });
    auto quick = spawn([] { sleep(1s); });
    const Deadline t0 = now();
    auto done = joinall({sleeper, failer, quick}, 10s);
    EXPECT_EQ(now() - t0, std::chrono::seconds(10));
    ASSERT_EQ(done.size(), 2u);
    EXPECT_EQ(done[0], failer);
    EXPECT_EQ(done[1], quick);
    sleeper->kill();
}

TEST_F(Joinall, ReturnsAtOnceWhenAllAreDeadAndWaitsForAllOtherwise) {
    Deterministic mode;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < 5; ++i) gs.push_back(spawn([i] { sleep(Duration(5 - i)); }));
    const Deadline t0 = now();
    EXPECT_EQ(joinall(gs).size(), 5u);
    EXPECT_EQ(now() - t0, std::chrono::seconds(5));
    EXPECT_EQ(joinall(gs, 0s).size(), 5u);
}

TEST_F(Joinall, JoiningYourselfOrANullRefIsAClearError) {
    test::StderrCapture quiet;  // the failures' reports
    auto self = spawn([] {
        std::vector<Ref<GreenletBase>> me{getcurrent()->shared_from_this()};
        joinall(me);
    });
    EXPECT_THROW(self->get(), std::logic_error);
    std::vector<Ref<GreenletBase>> with_null{nullptr};
    EXPECT_THROW(joinall(with_null), std::invalid_argument);
}

struct Stubborn {
    // Swallows the first GreenletExit, then waits an hour (virtual).
    void operator()() const {
        try {
            sleep(3600s);
        } catch (const GreenletExit&) {
        }
        sleep(3600s);
    }
};

TEST_F(Killall, BlockingWithATimeoutRaisesTimeoutErrorWhenGreenletsOutliveIt) {
    Deterministic mode;
    auto stubborn = spawn(Stubborn{});
    auto meek = spawn([] { sleep(3600s); });
    sleep();
    const Deadline t0 = now();
    EXPECT_THROW(killall({stubborn, meek}, {}, true, 2s), TimeoutError);
    EXPECT_EQ(now() - t0, std::chrono::seconds(2));
    EXPECT_TRUE(meek->dead());
    EXPECT_FALSE(stubborn->dead());
    stubborn->kill();
    EXPECT_TRUE(stubborn->dead());
}

TEST_F(Killall, BlockingReturnsNormallyWhenAllDieInTime) {
    Deterministic mode;
    auto a = spawn([] { sleep(3600s); });
    auto b = spawn([] { sleep(3600s); });
    sleep();
    EXPECT_NO_THROW(killall({a, b}, {}, true, 2s));
    EXPECT_TRUE(a->dead() && b->dead());
}

TEST_F(Killall, TheTimeoutErrorComesFromNoGuard) {
    Deterministic mode;
    auto stubborn = spawn(Stubborn{});
    sleep();
    Timeout guard(10s);
    try {
        killall({stubborn}, {}, true, 1s);
        ADD_FAILURE() << "killall returned with a greenlet alive";
    } catch (const TimeoutError& e) {
        EXPECT_FALSE(e.from(guard));
    }
    stubborn->kill();
}

// The header promises unlink() "removes a link that has not run yet": that
// includes a later link of the same greenlet, unlinked by an earlier one.
TEST_F(Link, UnlinkInsideALinkCallbackStopsALaterLink) {
    std::vector<std::string> log;
    GreenletBase::LinkId later = 0;
    bool unlinked = false;
    auto g = spawn([] {});
    g->link([&](GreenletBase& who) {
        log.push_back("first");
        unlinked = who.unlink(later);
    });
    later = g->link([&](GreenletBase&) { log.push_back("later"); });
    g->link([&](GreenletBase&) { log.push_back("last"); });
    g->join();
    sleep();
    EXPECT_TRUE(unlinked);
    EXPECT_EQ(log, (std::vector<std::string>{"first", "last"}));
}

TEST_F(Link, UnlinkingItselfOrAnEarlierLinkInsideACallbackReturnsFalse) {
    std::vector<bool> results;
    GreenletBase::LinkId first = 0, second = 0;
    auto g = spawn([] {});
    first = g->link([&](GreenletBase&) {});
    second = g->link([&](GreenletBase& who) {
        results.push_back(who.unlink(first));
        results.push_back(who.unlink(second));
    });
    g->join();
    sleep();
    EXPECT_EQ(results, (std::vector<bool>{false, false}));
}

}  // namespace
}  // namespace grove
