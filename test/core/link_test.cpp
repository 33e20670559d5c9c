// Links: run once, from the hub, after death; errors in callbacks are reported.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "capture.hpp"
#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using Link = test::LeakChecked;

// Links run from the hub after death. Instead of sleeping "long enough", the
// tests let the hub run until it has nothing left to do: every queued
// notification (and any pass it queues) has run when this returns.
void run_hub_dry() { ASSERT_TRUE(get_hub().join()); }

TEST_F(Link, LinksFireExactlyOnceAfterDeath) {
    int calls = 0;
    auto g = spawn([] { sleep(1ms); });
    g->link([&](GreenletBase& who) {
        EXPECT_TRUE(who.dead());
        ++calls;
    });
    g->join();
    run_hub_dry();
    run_hub_dry();
    EXPECT_EQ(calls, 1);
}

TEST_F(Link, LinkAddedAfterDeathStillFiresOnce) {
    int calls = 0;
    auto g = spawn([] {});
    g->join();
    g->link([&](GreenletBase&) { ++calls; });
    run_hub_dry();
    EXPECT_EQ(calls, 1);
    run_hub_dry();
    EXPECT_EQ(calls, 1);
}

TEST_F(Link, ValueAndExceptionLinksFilterByOutcome) {
    test::StderrCapture quiet;
    std::vector<std::string> log;
    auto ok = spawn([] {});
    auto bad = spawn([] { throw std::runtime_error("x"); });
    for (auto* g : {static_cast<GreenletBase*>(ok.get()), static_cast<GreenletBase*>(bad.get())}) {
        const std::string who = g == ok.get() ? "ok" : "bad";
        g->link_value([&log, who](GreenletBase&) { log.push_back(who + ":value"); });
        g->link_exception([&log, who](GreenletBase&) { log.push_back(who + ":exception"); });
    }
    joinall({ok, bad});
    run_hub_dry();
    std::sort(log.begin(), log.end());
    EXPECT_EQ(log, (std::vector<std::string>{"bad:exception", "ok:value"}));
}

TEST_F(Link, UnlinkRemovesAPendingLink) {
    int calls = 0;
    auto g = spawn([] { sleep(1ms); });
    auto id = g->link([&](GreenletBase&) { ++calls; });
    EXPECT_TRUE(g->unlink(id));
    EXPECT_FALSE(g->unlink(id));
    g->join();
    run_hub_dry();
    EXPECT_EQ(calls, 0);
}

TEST_F(Link, AThrowingLinkAmongThreeIsReportedAndTheOthersRun) {
    test::StderrCapture err;
    std::vector<int> ran;
    auto g = spawn([] {});
    g->link([&](GreenletBase&) { ran.push_back(1); });
    g->link([&](GreenletBase&) {
        ran.push_back(2);
        throw std::logic_error("bad link");
    });
    g->link([&](GreenletBase&) { ran.push_back(3); });
    g->join();
    run_hub_dry();
    run_hub_dry();  // and each ran once only
    EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
    const std::string text = err.take();
    EXPECT_NE(text.find("std::logic_error: bad link"), std::string::npos) << text;
    // The hub survived: it still runs greenlets.
    EXPECT_EQ(*spawn([] { return 7; })->get(), 7);
}

TEST_F(Link, BlockingInALinkCallbackIsAClearErrorAndTheHubKeepsRunning) {
    test::StderrCapture err;
    auto g = spawn([] {});
    g->link([](GreenletBase&) { sleep(1ms); });
    g->join();
    run_hub_dry();
    const std::string text = err.take();
    EXPECT_NE(text.find("cannot block in the hub"), std::string::npos) << text;
    EXPECT_EQ(*spawn([] { return 1; })->get(), 1);
}

TEST_F(Link, LinksAddedDuringNotificationRunOnTheNextPass) {
    std::vector<std::string> log;
    auto g = spawn([] {});
    g->link([&](GreenletBase& who) {
        log.push_back("first");
        who.link([&](GreenletBase&) { log.push_back("added later"); });
    });
    g->join();
    run_hub_dry();
    EXPECT_EQ(log, (std::vector<std::string>{"first", "added later"}));
}

}  // namespace
}  // namespace grove
