// grove tests — a fixture whose teardown asserts that nothing was left behind:
// no live greenlet, no stack in use, no timer or watcher keeping the loop busy.
#pragma once

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "runtime.hpp"

namespace grove::test {

inline std::size_t stacks_in_use() {
    auto* hub = detail::HubImpl::current();
    return hub ? hub->stacks().in_use() : 0;
}

inline int loop_refs() {
    auto* hub = detail::HubImpl::current();
    return hub ? hub->poll_and_count_alive_watchers() : 0;
}

class LeakChecked : public ::testing::Test {
protected:
    void TearDown() override {
        if (auto* hub = get_hub_if_exists()) {
            // Let greenlets that are finishing run to their end first.
            for (int i = 0; i < 10 && hub->live_count() > 0; ++i) grove::sleep();
            grove::sleep();
            // A job the test abandoned on the thread pool (a resolve a Timeout cut short)
            // still holds the hub until its worker posts back: wait for that, briefly.
            // A watcher truly left active outlives the wait and fails below.
            for (int i = 0; i < 2000 && loop_refs() > 0; ++i) grove::sleep(std::chrono::milliseconds(1));
            EXPECT_EQ(hub->live_count(), 0u) << "greenlets left alive by the test";
            EXPECT_EQ(stacks_in_use(), 1u) << "greenlet stacks not returned (the hub's own is the 1)";
            EXPECT_EQ(loop_refs(), 0) << "timers or watchers left active";
            hub->destroy();
        }
    }
};

}  // namespace grove::test
