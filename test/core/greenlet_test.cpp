#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using Greenlets = test::LeakChecked;

TEST_F(Greenlets, SpawnRunsOnALaterTurnNotInline) {
    std::vector<int> order;
    auto g = spawn([&] { order.push_back(2); });
    order.push_back(1);
    g->join();
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST_F(Greenlets, GetReturnsTheValue) {
    auto g = spawn([](int a, int b) { return a + b; }, 2, 3);
    EXPECT_EQ(*g->get(), 5);
}

TEST_F(Greenlets, SleepInMainJustWorks) {
    const auto t0 = Clock::now();
    sleep(20ms);
    EXPECT_GE(Clock::now() - t0, 19ms);
}

}  // namespace
}  // namespace grove
