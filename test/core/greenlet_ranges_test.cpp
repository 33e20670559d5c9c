// joinall, killall, wait and iwait take greenlets as a user holds them:
// vectors of Ref<Greenlet<R>>, spans, initializer lists, the classic
// std::vector<Ref<GreenletBase>>. Each form must compile and work.
#include <gtest/gtest.h>

#include <array>
#include <list>
#include <span>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using GreenletRanges = test::LeakChecked;

TEST_F(GreenletRanges, JoinallTakesAVectorOfTypedRefsAndReturnsThemTyped) {
    std::vector<Ref<Greenlet<int>>> gs;
    for (int i = 0; i < 3; ++i) gs.push_back(spawn([i] { return i * 10; }));
    std::vector<Ref<Greenlet<int>>> done = joinall(gs);
    ASSERT_EQ(done.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(*done[i]->get(), i * 10);
}

TEST_F(GreenletRanges, JoinallTakesAVectorOfVoidGreenlets) {
    std::vector<Ref<Greenlet<void>>> v{spawn([] {}), spawn([] {})};
    EXPECT_EQ(grove::joinall(v).size(), 2u);
    EXPECT_EQ(grove::joinall(v, 1s, true).size(), 2u);
}

TEST_F(GreenletRanges, JoinallTakesSpansArraysListsAndInitializerLists) {
    auto a = spawn([] { return 1; });
    auto b = spawn([] { return 2; });
    std::array<Ref<Greenlet<int>>, 2> arr{a, b};
    EXPECT_EQ(joinall(std::span(arr)).size(), 2u);
    EXPECT_EQ(joinall(std::span<const Ref<Greenlet<int>>>(arr), 1s).size(), 2u);
    EXPECT_EQ(joinall(arr).size(), 2u);
    EXPECT_EQ(joinall(std::list<Ref<Greenlet<int>>>{a, b}).size(), 2u);
    EXPECT_EQ(joinall({a, b}).size(), 2u);
    auto v = spawn([] {});
    EXPECT_EQ(joinall({a, b}, {}, true).size(), 2u);
    // Mixed types in one braced list go through the classic signature.
    EXPECT_EQ(joinall({a, v}).size(), 2u);
}

TEST_F(GreenletRanges, TheClassicVectorOfBaseRefsStillWorks) {
    std::vector<Ref<GreenletBase>> gs{spawn([] {}), spawn([] { return 3; })};
    std::vector<Ref<GreenletBase>> done = joinall(gs);
    EXPECT_EQ(done.size(), 2u);
    killall(gs);
    const std::vector<Ref<GreenletBase>>& cref = gs;
    EXPECT_EQ(joinall(cref, 0s).size(), 2u);
}

TEST_F(GreenletRanges, KillallTakesTypedVectorsSpansAndInitializerLists) {
    std::vector<Ref<Greenlet<int>>> gs;
    for (int i = 0; i < 3; ++i)
        gs.push_back(spawn([] {
            sleep(10s);
            return 0;
        }));
    sleep();
    killall(std::span(gs).first(1));
    EXPECT_TRUE(gs[0]->dead());
    EXPECT_FALSE(gs[1]->dead());
    killall({gs[1]});
    EXPECT_TRUE(gs[1]->dead());
    killall(gs, {}, true, 1s);
    for (auto& g : gs) EXPECT_TRUE(g->dead());
}

TEST_F(GreenletRanges, WaitAndIwaitTakeTypedVectorsSpansAndInitializerLists) {
    auto a = spawn([] { return 1; });
    auto b = spawn([] { return 2; });
    std::vector<Ref<Greenlet<int>>> v{a, b};
    std::vector<Ref<Greenlet<int>>> ready = wait(v);
    EXPECT_EQ(ready.size(), 2u);
    EXPECT_EQ(wait(std::span(v), {}, 1).size(), 1u);
    EXPECT_EQ(wait({a, b}).size(), 2u);
    int sum = 0;
    for (auto& g : iwait({a, b})) sum += *g->get();
    EXPECT_EQ(sum, 3);
    sum = 0;
    for (auto& g : iwait(std::span(v))) sum += *g->get();
    EXPECT_EQ(sum, 3);
}

TEST_F(GreenletRanges, StartedStaysTrueAfterDeath) {
    auto g = make<Greenlet<int>>();
    EXPECT_FALSE(g->started());
    auto h = spawn([] {});
    EXPECT_TRUE(h->started());
    h->join();
    EXPECT_TRUE(h->started()) << "started() means start() was called, not that it still runs";
    auto k = spawn([] {});
    k->kill();
    EXPECT_TRUE(k->started());
    EXPECT_TRUE(k->dead());
}

}  // namespace
}  // namespace grove
