// One hub per OS thread; cross-thread posting; hub teardown at thread exit.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

// Suite HubTest, not Hub: the test bodies use grove::Hub by its own name.
using HubTest = test::LeakChecked;

TEST_F(HubTest, EachThreadHasItsOwnHub) {
    Hub* main_hub = &get_hub();
    Hub* other = nullptr;
    int done = 0;
    std::thread t([&] {
        other = &get_hub();
        std::vector<Ref<GreenletBase>> gs;
        for (int i = 0; i < 10; ++i)
            gs.push_back(spawn([&done] {
                sleep(1ms);
                ++done;
            }));
        joinall(gs);
    });
    t.join();
    EXPECT_NE(other, nullptr);
    EXPECT_NE(other, main_hub);
    EXPECT_EQ(done, 10);
}

TEST_F(HubTest, GreenletsStillSuspendedAtThreadExitAreUnwound) {
    std::atomic<bool> unwound{false};
    std::thread t([&] {
        spawn([&] {
            struct Flag {
                std::atomic<bool>& f;
                ~Flag() { f = true; }
            } flag{unwound};
            sleep(100s);
        });
        sleep();
    });
    t.join();
    EXPECT_TRUE(unwound);
}

TEST_F(HubTest, RemotePostRunsOnTheHubThreadAndWakesIt) {
    auto remote = get_hub().remote();
    Waiter w("posted");
    Hub::KeepAlive busy;
    std::thread t([&] { remote->post([&w] { w.wake(); }); });
    EXPECT_TRUE(w.wait(5s));
    t.join();
}

TEST_F(HubTest, RemotePostAfterDestroyReturnsFalse) {
    auto remote = get_hub().remote();
    get_hub().destroy();
    EXPECT_FALSE(remote->post([] {}));
}

TEST_F(HubTest, UsingAGreenletFromAnotherThreadIsAClearError) {
    auto g = spawn([] { sleep(10ms); });
    std::string message;
    std::thread t([&] {
        try {
            g->join();
        } catch (const std::logic_error& e) {
            message = e.what();
        }
    });
    t.join();
    EXPECT_NE(message.find("another thread"), std::string::npos) << message;
    g->join();
}

TEST_F(HubTest, RunCallbackRunsOnTheHub) {
    bool ran = false;
    get_hub().run_callback([&] { ran = true; });
    sleep(1ms);
    EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace grove
