// Channel: ported from gevent's test__queue.py channel cases (rendezvous
// put/get, non-blocking Full, kill on either side).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/sync/channel.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;
using Channel = grove::test::LeakChecked;

TEST_F(Channel, PutWaitsForAGetterAndHandsTheItemOver) {
    grove::Channel<std::string> ch;
    std::vector<std::string> events;
    auto putter = grove::spawn([&] {
        ch.put("hello");
        events.push_back("put returned");
    });
    grove::sleep();
    EXPECT_EQ(ch.waiting_putters(), 1u);
    EXPECT_EQ(ch.qsize(), 0u);
    events.push_back("get " + ch.get());
    putter->join();
    EXPECT_EQ(events, (std::vector<std::string>{"get hello", "put returned"}));
}

TEST_F(Channel, GetWaitsForAPutter) {
    grove::Channel<int> ch;
    auto getter = grove::spawn([&] { return ch.get(); });
    grove::sleep();
    ch.put(3);
    EXPECT_EQ(*getter->get(), 3);
}

TEST_F(Channel, IsAlwaysFullAndEmpty) {
    grove::Channel<int> ch;
    EXPECT_TRUE(ch.full());
    EXPECT_TRUE(ch.empty());
    EXPECT_EQ(ch.maxsize(), std::optional<std::size_t>(0));
}

TEST_F(Channel, NonBlockingPutWithoutGetterThrowsQueueFull) {
    grove::Channel<int> ch;
    EXPECT_THROW(ch.put_nowait(1), grove::QueueFull);
    EXPECT_THROW(ch.put(1, true, 2ms), grove::QueueFull);
    EXPECT_THROW(ch.get(true, 2ms), grove::QueueEmpty);
    EXPECT_EQ(ch.waiting_putters() + ch.waiting_getters(), 0u);
}

TEST_F(Channel, PeekSeesTheWaitingPuttersItem) {
    grove::Channel<int> ch;
    auto putter = grove::spawn([&] { ch.put(9); });
    EXPECT_EQ(ch.peek(), 9);
    EXPECT_EQ(ch.get(), 9);
    putter->join();
}

TEST_F(Channel, ItemHandedToAKilledGetterIsKeptForTheNextGet) {
    grove::Channel<std::unique_ptr<int>> ch;
    auto getter = grove::spawn([&] { ch.get(); });
    grove::sleep();
    ch.put_nowait(std::make_unique<int>(4));
    getter->kill();
    EXPECT_EQ(ch.qsize(), 1u);
    EXPECT_EQ(*ch.get_nowait(), 4);
}

TEST_F(Channel, PutterKilledWhileWaitingHandsNothingOver) {
    grove::Channel<int> ch;
    auto putter = grove::spawn([&] { ch.put(1); });
    grove::sleep();
    putter->kill();
    EXPECT_THROW(ch.get_nowait(), grove::QueueEmpty);
}

TEST_F(Channel, RangeForReceivesUntilShutdown) {
    grove::Channel<int> ch;
    auto producer = grove::spawn([&] {
        for (int i = 0; i < 3; ++i) ch.put(i);
        ch.shutdown();
    });
    int sum = 0;
    for (int x : ch) sum += x;
    EXPECT_EQ(sum, 3);
    producer->join();
}
