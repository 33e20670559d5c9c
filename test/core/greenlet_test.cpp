// Greenlet lifecycle: spawn, run, get, join, names, subclasses, getcurrent.
#include <gtest/gtest.h>

#include <memory>
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

// Suite GreenletTest, not Greenlet: the test bodies use grove::Greenlet by its own name.
using GreenletTest = test::LeakChecked;

TEST_F(GreenletTest, SpawnRunsOnALaterTurnNotInline) {
    std::vector<int> order;
    auto g = spawn([&] { order.push_back(2); });
    order.push_back(1);
    EXPECT_TRUE(g->started());
    EXPECT_FALSE(g->dead());
    g->join();
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST_F(GreenletTest, GetReturnsTheValue) {
    auto g = spawn([](int a, int b) { return a + b; }, 2, 3);
    EXPECT_EQ(*g->get(), 5);
    EXPECT_TRUE(g->successful());
    EXPECT_FALSE(g->exception());
}

TEST_F(GreenletTest, GetRethrowsTheGreenletsError) {
    test::StderrCapture quiet;
    auto g = spawn([] { throw std::runtime_error("boom"); });
    EXPECT_THROW(g->get(), std::runtime_error);
    EXPECT_TRUE(g->dead());
    EXPECT_FALSE(g->successful());
    EXPECT_TRUE(g->exception());
}

TEST_F(GreenletTest, GetWithoutBlockingOnUnfinishedThrowsTimeoutError) {
    auto g = spawn([] { sleep(10ms); });
    EXPECT_THROW(g->get(false), TimeoutError);
    EXPECT_THROW(g->get(true, 1ms), TimeoutError);
    g->join();
}

TEST_F(GreenletTest, MoveOnlyArgumentsAndResults) {
    auto g = spawn([](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); }, std::make_unique<int>(41));
    auto outcome = g->get();
    EXPECT_EQ(**outcome, 42);
}

TEST_F(GreenletTest, SleepInPlainMainJustWorks) {
    const auto t0 = Clock::now();
    sleep(20ms);
    EXPECT_GE(Clock::now() - t0, 19ms);
}

TEST_F(GreenletTest, SpawnLaterStartsAfterTheDelay) {
    const auto t0 = Clock::now();
    Clock::time_point ran;
    auto g = spawn_later(30ms, [&] { ran = Clock::now(); });
    g->join();
    EXPECT_GE(ran - t0, 29ms);
}

struct Adder : Greenlet<int> {
    Adder(int a, int b) : a_(a), b_(b) {}
    int run() override { return a_ + b_; }
    int a_, b_;
};

TEST_F(GreenletTest, SubclassWithRunIsMadeNotStarted) {
    auto g = make<Adder>(20, 22);
    EXPECT_FALSE(g->started());
    g->start();
    EXPECT_EQ(*g->get(), 42);
}

TEST_F(GreenletTest, StartTwiceIsANoOp) {
    int runs = 0;
    auto g = spawn([&] { ++runs; });
    g->start();
    g->join();
    g->start();
    sleep();
    EXPECT_EQ(runs, 1);
}

TEST_F(GreenletTest, JoinSelfIsAClearError) {
    Ref<Greenlet<void>> g;
    std::string message;
    g = spawn([&] {
        try {
            g->join();
        } catch (const std::logic_error& e) {
            message = e.what();
        }
    });
    g->join();
    EXPECT_NE(message.find("cannot join itself"), std::string::npos) << message;
}

TEST_F(GreenletTest, JoinTimesOutAndReturnsFalse) {
    auto g = spawn([] { sleep(50ms); });
    EXPECT_FALSE(g->join(5ms));
    EXPECT_TRUE(g->join());
}

TEST_F(GreenletTest, NamesAndIdentsAreStable) {
    auto a = spawn([] {});
    auto b = spawn_with(SpawnOptions{.stack_size = 0, .name = "worker"}, [] {});
    EXPECT_NE(a->minimal_ident(), b->minimal_ident());
    EXPECT_EQ(a->minimal_ident(), a->minimal_ident());
    EXPECT_EQ(a->name(), "Greenlet-" + std::to_string(a->minimal_ident()));
    EXPECT_EQ(b->name(), "worker");
    joinall({a, b});
}

TEST_F(GreenletTest, GetcurrentNamesTheRunningGreenlet) {
    GreenletBase* main = getcurrent();
    GreenletBase* inside = nullptr;
    auto g = spawn([&] { inside = getcurrent(); });
    g->join();
    EXPECT_EQ(inside, g.get());
    EXPECT_EQ(getcurrent(), main);
}

TEST_F(GreenletTest, CustomStackSizeIsHonoured) {
    auto g = spawn_with(SpawnOptions{.stack_size = 1 << 20, .name = {}}, [] {
        volatile char big[600 * 1024];
        big[0] = 1;
        big[sizeof big - 1] = 2;
        return big[0] + big[sizeof big - 1];
    });
    EXPECT_EQ(*g->get(), 3);
}

TEST_F(GreenletTest, ErrnoIsPerGreenlet) {
    std::vector<int> seen;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 1; i <= 50; ++i)
        gs.push_back(spawn([i, &seen] {
            errno = i;
            sleep();
            sleep(1ms);
            seen.push_back(errno == i);
        }));
    errno = 777;
    joinall(gs);
    EXPECT_EQ(errno, 777);
    EXPECT_EQ(seen, std::vector<int>(50, 1));
}

TEST_F(GreenletTest, HundredThousandGreenletsSpawnedAndJoined) {
    constexpr int n = 100000;
    std::vector<Ref<GreenletBase>> gs;
    gs.reserve(n);
    long sum = 0;
    for (int i = 0; i < n; ++i)
        gs.push_back(spawn([i, &sum] {
            sleep();
            sum += i;
        }));
    EXPECT_EQ(joinall(gs).size(), static_cast<std::size_t>(n));
    EXPECT_EQ(sum, static_cast<long>(n) * (n - 1) / 2);
}

}  // namespace
}  // namespace grove
