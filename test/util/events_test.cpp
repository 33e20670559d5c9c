// grove::events: spawn and death callbacks name the right greenlets; a
// Subscription unsubscribes when dropped.
#include <grove/events.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>

#include "leak_check.hpp"

namespace {

using grove::GreenletBase;

class Events : public grove::test::LeakChecked {};

TEST_F(Events, SpawnedNamesTheGreenletAndItsParent) {
    std::vector<std::string> seen;
    auto sub = grove::events::subscribe(
        [&](const grove::events::GreenletSpawned& e) { seen.push_back(e.greenlet.name() + " by " + e.parent.name()); });
    GreenletBase* outer_ptr = nullptr;
    auto outer = grove::spawn_with({.name = "outer"}, [&] {
        outer_ptr = grove::getcurrent();
        grove::spawn_with({.name = "inner"}, [] {})->join();
    });
    outer->join();
    const std::string main_name = grove::getcurrent()->name();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0], "outer by " + main_name);
    EXPECT_EQ(seen[1], "inner by outer");
    EXPECT_EQ(outer_ptr, outer.get());
}

TEST_F(Events, DiedFiresOnceWithTheOutcomeSet) {
    std::vector<std::string> died;
    auto sub = grove::events::subscribe([&](const grove::events::GreenletDied& e) {
        EXPECT_TRUE(e.greenlet.dead());
        died.push_back(e.greenlet.name() + (e.greenlet.exception() ? " failed" : " ok"));
    });
    auto ok = grove::spawn_with({.name = "fine"}, [] {});
    auto bad = grove::spawn_with({.name = "broken"}, [] { throw std::runtime_error("expected by the test"); });
    auto never = grove::spawn_with({.name = "never-ran"}, [] {});
    never->kill();
    grove::joinall({ok, bad, never});
    ASSERT_EQ(died.size(), 3u);
    EXPECT_EQ(died[0], "never-ran ok");  // killed before it began: dead at once
    EXPECT_EQ(died[1], "fine ok");
    EXPECT_EQ(died[2], "broken failed");
}

TEST_F(Events, DroppedSubscriptionIsNotCalled) {
    int calls = 0;
    {
        auto sub = grove::events::subscribe([&](const grove::events::GreenletSpawned&) { ++calls; });
        grove::spawn([] {})->join();
    }
    grove::spawn([] {})->join();
    EXPECT_EQ(calls, 1);
}

TEST_F(Events, CallbackMayUnsubscribeItself) {
    int calls = 0;
    grove::events::Subscription sub;
    sub = grove::events::subscribe([&](const grove::events::GreenletDied&) {
        ++calls;
        sub.reset();
    });
    grove::spawn([] {})->join();
    grove::spawn([] {})->join();
    EXPECT_EQ(calls, 1);
    EXPECT_FALSE(sub);
}

}  // namespace
