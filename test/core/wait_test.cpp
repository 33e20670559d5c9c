// wait()/iwait()/joinall() over several greenlets.
#include <gtest/gtest.h>

#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using Wait = test::LeakChecked;

TEST_F(Wait, IwaitYieldsInCompletionOrder) {
    auto slow = spawn([] { sleep(20ms); });
    auto fast = spawn([] { sleep(1ms); });
    auto mid = spawn([] { sleep(10ms); });
    std::vector<Ref<GreenletBase>> all{slow, fast, mid};
    std::vector<GreenletBase*> order;
    for (auto& g : iwait(all)) order.push_back(g.get());
    EXPECT_EQ(order, (std::vector<GreenletBase*>{fast.get(), mid.get(), slow.get()}));
}

TEST_F(Wait, WaitWithCountReturnsTheFirstOnes) {
    auto a = spawn([] { sleep(1ms); });
    auto b = spawn([] { sleep(50ms); });
    std::vector<Ref<GreenletBase>> all{a, b};
    auto done = wait(all, {}, 1);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0], a);
    b->kill();
}

TEST_F(Wait, WaitWithTimeoutReturnsWhatFinished) {
    auto a = spawn([] {});
    auto b = spawn([] { sleep(1s); });
    std::vector<Ref<GreenletBase>> all{a, b};
    auto done = wait(all, 20ms);
    EXPECT_EQ(done.size(), 1u);
    b->kill();
}

TEST_F(Wait, JoinallWithRaiseErrorRethrows) {
    auto a = spawn([] {});
    auto b = spawn([] { throw std::runtime_error("joinall"); });
    EXPECT_THROW(joinall({a, b}, {}, true), std::runtime_error);
    sleep(1ms);
}

TEST_F(Wait, JoinallTimeoutReturnsOnlyTheDead) {
    auto a = spawn([] {});
    auto b = spawn([] { sleep(1s); });
    auto done = joinall({a, b}, 10ms);
    EXPECT_EQ(done.size(), 1u);
    b->kill();
}

TEST_F(Wait, SleepZeroIsFairAmongNGreenlets) {
    constexpr int n = 5, rounds = 4;
    std::vector<int> trace;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < n; ++i)
        gs.push_back(spawn([&trace, i] {
            for (int r = 0; r < rounds; ++r) {
                trace.push_back(i);
                sleep();
            }
        }));
    joinall(gs);
    ASSERT_EQ(trace.size(), static_cast<std::size_t>(n * rounds));
    for (int r = 0; r < rounds; ++r)
        for (int i = 0; i < n; ++i) EXPECT_EQ(trace[r * n + i], i) << "round " << r;
}

TEST_F(Wait, SpinningOnSleepZeroDoesNotStarveTimers) {
    bool stop = false;
    long spins = 0;
    auto spinner = spawn([&] {
        while (!stop) {
            ++spins;
            sleep();
        }
    });
    auto timer = spawn([&] {
        sleep(5ms);
        stop = true;
    });
    timer->join();
    spinner->join();
    EXPECT_TRUE(stop);
    EXPECT_GT(spins, 10);
}

}  // namespace
}  // namespace grove
