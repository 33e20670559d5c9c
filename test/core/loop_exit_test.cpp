// LoopExit instead of a hang, and Hub::join.
#include <gtest/gtest.h>

#include <string>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

// Suite LoopExitTest, not LoopExit: the test bodies use grove::LoopExit by its own name.
using LoopExitTest = test::LeakChecked;

TEST_F(LoopExitTest, JoiningAGreenletThatWaitsForeverRaisesLoopExitInMain) {
    auto stuck = spawn([] {
        Waiter w("nothing at all");
        w.wait();
    });
    try {
        stuck->join();
        FAIL() << "join returned";
    } catch (const LoopExit& e) {
        const std::string text = e.what();
        EXPECT_NE(text.find("This operation would block forever"), std::string::npos) << text;
        EXPECT_NE(text.find("waits on nothing at all"), std::string::npos) << text;
        EXPECT_NE(text.find("waits on join"), std::string::npos) << text;
    }
    stuck->kill();
    EXPECT_TRUE(stuck->dead());
}

TEST_F(LoopExitTest, MessageNamesAJoinCycle) {
    Ref<Greenlet<void>> a, b;
    a = spawn([&] { b->join(); });
    b = spawn([&] { a->join(); });
    try {
        a->join();
        FAIL() << "join returned";
    } catch (const LoopExit& e) {
        const std::string text = e.what();
        EXPECT_NE(text.find("wait-for cycle: "), std::string::npos) << text;
        const std::string ab = a->describe() + " joins " + b->describe() + " joins " + a->describe();
        const std::string ba = b->describe() + " joins " + a->describe() + " joins " + b->describe();
        EXPECT_TRUE(text.find(ab) != std::string::npos || text.find(ba) != std::string::npos) << text;
    }
    killall({a, b});
}

TEST_F(LoopExitTest, AWaiterWithNothingToWakeItInMain) {
    Waiter w("forever");
    EXPECT_THROW(w.wait(), LoopExit);
}

TEST_F(LoopExitTest, HubJoinRunsUntilNothingIsLeft) {
    int done = 0;
    for (int i = 0; i < 5; ++i)
        spawn([&done, i] {
            sleep(std::chrono::milliseconds(i));
            ++done;
        });
    EXPECT_TRUE(get_hub().join());
    EXPECT_EQ(done, 5);
}

TEST_F(LoopExitTest, HubJoinWithTimeoutReturnsFalseWhileWorkRemains) {
    auto g = spawn([] { sleep(1s); });
    EXPECT_FALSE(get_hub().join(5ms));
    g->kill();
}

TEST_F(LoopExitTest, IdleResumesWhenNothingElseIsPending) {
    std::vector<int> order;
    auto busy = spawn([&] {
        for (int i = 0; i < 3; ++i) {
            order.push_back(1);
            sleep();
        }
    });
    auto lazy = spawn([&] {
        idle();
        order.push_back(2);
    });
    joinall({busy, lazy});
    EXPECT_EQ(order, (std::vector<int>{1, 1, 1, 2}));
}

}  // namespace
}  // namespace grove
