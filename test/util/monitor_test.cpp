// The monitor thread: a greenlet that spins 300 ms without yielding is
// reported once, by function, with its stack taken while it spins.
#include <grove/util.hpp>

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <grove/events.hpp>
#include <grove/greenlet.hpp>

#include "capture.hpp"
#include "child_process.hpp"
#include "leak_check.hpp"

[[gnu::noinline]] void spin_without_yielding(std::chrono::milliseconds how_long) {
    const auto until = std::chrono::steady_clock::now() + how_long;
    while (std::chrono::steady_clock::now() < until) asm volatile("" ::: "memory");
}

namespace {

class Monitor : public grove::test::LeakChecked {
protected:
    void TearDown() override {
        grove::util::stop_monitor();
        LeakChecked::TearDown();
    }
};

TEST_F(Monitor, ReportsAGreenletThatSpinsOncePerIncident) {
    std::mutex mutex;
    std::vector<grove::events::EventLoopBlocked> seen;
    auto sub = grove::events::subscribe([&](const grove::events::EventLoopBlocked& e) {
        const std::lock_guard lock(mutex);
        seen.push_back(e);
    });
    grove::get_hub();
    grove::util::start_monitor({grove::Duration(0.1), 0});
    ASSERT_TRUE(grove::util::monitor_running());
    grove::test::StderrCapture capture;
    auto spinner = grove::spawn_with({.name = "spinner"}, spin_without_yielding, std::chrono::milliseconds(300));
    const auto ident = spinner->minimal_ident();
    spinner->join();
    grove::sleep(grove::Duration(0.05));  // the hub switches again: a new incident could start
    grove::util::stop_monitor();
    const std::string err = capture.take();

    const std::lock_guard lock(mutex);
    ASSERT_EQ(seen.size(), 1u) << err;
    EXPECT_EQ(seen[0].greenlet_ident, ident);
    EXPECT_EQ(seen[0].greenlet, spinner.get());
    EXPECT_GE(seen[0].blocked_for.count(), 0.1);
    EXPECT_NE(seen[0].stack.find("in spin_without_yielding("), std::string::npos) << seen[0].stack;
    EXPECT_NE(err.find("has not switched for"), std::string::npos) << err;
    EXPECT_NE(err.find("greenlet #" + std::to_string(ident)), std::string::npos) << err;
    EXPECT_NE(err.find("in spin_without_yielding("), std::string::npos) << err;
}

// A hub asleep in its loop is idle, not blocked, however long it sleeps. The
// same monitor then names a real block right after: it was sampling all
// along, so the silence before means something.
TEST_F(Monitor, IdleHubIsNotBlocked) {
    std::mutex mutex;
    std::vector<const void*> blocked;  // the greenlet of each incident
    auto sub = grove::events::subscribe([&](const grove::events::EventLoopBlocked& e) {
        const std::lock_guard lock(mutex);
        blocked.push_back(e.greenlet);
    });
    grove::get_hub();
    grove::test::StderrCapture capture;
    grove::util::start_monitor({grove::Duration(0.05), 0});
    grove::sleep(grove::Duration(0.3));  // the behaviour under test: six blocking periods asleep in the loop
    {
        const std::lock_guard lock(mutex);
        EXPECT_TRUE(blocked.empty()) << capture.take();
    }
    auto spinner = grove::spawn(spin_without_yielding, std::chrono::milliseconds(300));
    spinner->join();
    grove::util::stop_monitor();
    const std::lock_guard lock(mutex);
    ASSERT_EQ(blocked.size(), 1u);
    EXPECT_EQ(blocked[0], spinner.get());
}

TEST_F(Monitor, MemoryThresholdFiresOnce) {
    std::mutex mutex;
    std::condition_variable fired;
    int events = 0;
    std::atomic<std::size_t> rss{0};
    auto sub = grove::events::subscribe([&](const grove::events::MemoryUsageThresholdExceeded& e) {
        rss = e.rss_bytes;
        const std::lock_guard lock(mutex);
        ++events;
        fired.notify_all();
    });
    grove::test::StderrCapture capture;
    grove::util::start_monitor({grove::Duration(0.02), 1});  // every process is above 1 byte
    std::unique_lock lock(mutex);
    ASSERT_TRUE(fired.wait_for(lock, std::chrono::seconds(10), [&] { return events > 0; }));
    // Still over the limit for ten more samples (5 ms apart): no second event.
    fired.wait_for(lock, std::chrono::milliseconds(50), [&] { return events > 1; });
    lock.unlock();
    grove::util::stop_monitor();
    EXPECT_EQ(events, 1);
    EXPECT_GT(rss.load(), 1u);
    EXPECT_NE(capture.take().find("exceeds max_memory_usage"), std::string::npos);
}

TEST(MonitorChild, ConfiguredByEnvironment) {
    const auto r = grove::test::run_child("spin", {"GROVE_MONITOR_THREAD=1", "GROVE_MAX_BLOCKING_TIME=0.1"},
                                          [](pid_t, const std::string&) { return false; });  // runs to its end
    EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.err;
    EXPECT_NE(r.err.find("has not switched for"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("in child_spins_without_yielding()"), std::string::npos) << r.err;
}

}  // namespace
