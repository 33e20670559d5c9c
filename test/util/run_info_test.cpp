// grove::util::format_run_info(): each wait named, each suspended greenlet's
// stack showing the function that waits, the spawn tree, other threads' hubs.
#include <grove/util.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/io/wait.hpp>
#include <grove/waiter.hpp>

#include "capture.hpp"
#include "util/observe.hpp"
#include "leak_check.hpp"

// Global, not in an anonymous namespace, so their names read as a user's
// would. Each does something after its wait so the call is not a tail call
// (which would take the function's frame off the stack).
struct FakeEvent {
    grove::WaitList waiters;
};
struct FakeQueue {
    grove::WaitList getters;
};

[[gnu::noinline]] void wait_on_timer() {
    grove::sleep(grove::Duration(30));
    asm volatile("" ::: "memory");
}

[[gnu::noinline]] void wait_on_fd(int fd) {
    grove::wait_read(fd);
    asm volatile("" ::: "memory");
}

[[gnu::noinline]] void wait_on_event(FakeEvent* event) {
    grove::Waiter w("Event", event);
    grove::WaitNode node(w);
    event->waiters.push_back(node);
    w.wait();
    asm volatile("" ::: "memory");
}

[[gnu::noinline]] void wait_on_queue(FakeQueue* queue) {
    grove::Waiter w("Queue::get", queue);
    grove::WaitNode node(w);
    queue->getters.push_back(node);
    w.wait();
    asm volatile("" ::: "memory");
}

[[gnu::noinline]] void spawn_a_child_then_wait() {
    grove::spawn_with({.name = "child"}, wait_on_timer);
    wait_on_timer();
    asm volatile("" ::: "memory");
}

[[gnu::noinline]] void other_thread_waits(std::shared_ptr<bool> stop) {
    while (!*stop) grove::sleep(grove::Duration(0.005));
    asm volatile("" ::: "memory");
}

namespace {

using grove::test::count_occurrences;

class RunInfo : public grove::test::LeakChecked {};

// The line that starts greenlet `name`'s entry, and the text up to the next entry.
std::string entry_of(const std::string& text, const std::string& name) {
    const auto at = text.find("\"" + name + "\"");
    if (at == std::string::npos) return {};
    const auto next = text.find("+ #", at);
    return text.substr(at, next == std::string::npos ? std::string::npos : next - at);
}

TEST_F(RunInfo, NamesEachWaitAndTheFunctionThatWaits) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    FakeEvent event;
    FakeQueue queue;
    auto timer = grove::spawn_with({.name = "timer"}, wait_on_timer);
    auto fd = grove::spawn_with({.name = "fd"}, wait_on_fd, fds[0]);
    auto ev = grove::spawn_with({.name = "event"}, wait_on_event, &event);
    auto q = grove::spawn_with({.name = "queue"}, wait_on_queue, &queue);
    grove::sleep();  // each runs up to its wait
    auto not_begun = grove::spawn_with({.name = "not-begun"}, [] {});

    const std::string info = grove::util::format_run_info();

    EXPECT_NE(entry_of(info, "timer").find("waits on sleep"), std::string::npos) << info;
    EXPECT_NE(entry_of(info, "timer").find("in wait_on_timer()"), std::string::npos) << info;
    EXPECT_NE(entry_of(info, "fd").find("waits on wait_read fd " + std::to_string(fds[0]) + " (read)"),
              std::string::npos)
        << info;
    EXPECT_NE(entry_of(info, "fd").find("in wait_on_fd(int)"), std::string::npos) << info;
    EXPECT_NE(entry_of(info, "event").find("waits on Event 0x"), std::string::npos) << info;
    EXPECT_NE(entry_of(info, "event").find("in wait_on_event(FakeEvent*)"), std::string::npos) << info;
    EXPECT_NE(entry_of(info, "queue").find("waits on Queue::get 0x"), std::string::npos) << info;
    EXPECT_NE(entry_of(info, "queue").find("in wait_on_queue(FakeQueue*)"), std::string::npos) << info;
    EXPECT_NE(entry_of(info, "not-begun").find("ready (not begun)"), std::string::npos) << info;
    // The caller itself: running, with this test's frame on its stack.
    EXPECT_NE(info.find("running;"), std::string::npos) << info;
    EXPECT_NE(info.find("NamesEachWaitAndTheFunctionThatWaits"), std::string::npos) << info;

    // The probes changed nothing: each wait still ends the way it would have.
    ev->join(grove::Duration(0.01));
    EXPECT_FALSE(ev->dead());
    event.waiters.notify_all();
    ASSERT_EQ(::write(fds[1], "x", 1), 1);
    queue.getters.notify_all();
    EXPECT_TRUE(ev->join(grove::Duration(5)));
    EXPECT_TRUE(fd->join(grove::Duration(5)));
    EXPECT_TRUE(q->join(grove::Duration(5)));
    timer->kill();
    not_begun->join();
    EXPECT_TRUE(ev->successful() && fd->successful() && q->successful());
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_F(RunInfo, ShowsTheFramesOfACompactGreenletWhileItsStackIsCopiedOut) {
    auto timer = grove::spawn_with({.name = "compact-timer", .compact = true}, wait_on_timer);
    grove::sleep();  // it runs up to its sleep and is copied out
    const std::string info = grove::util::format_run_info();
    EXPECT_NE(entry_of(info, "compact-timer").find("waits on sleep"), std::string::npos) << info;
    EXPECT_NE(entry_of(info, "compact-timer").find("in wait_on_timer()"), std::string::npos) << info;
    // The probe copied it home and out again; it still sleeps, and dies on a kill.
    EXPECT_FALSE(timer->join(grove::Duration(0.01)));
    timer->kill();
    EXPECT_TRUE(timer->dead());
}

TEST_F(RunInfo, ShowsTheSpawnTree) {
    auto parent = grove::spawn_with({.name = "parent"}, spawn_a_child_then_wait);
    grove::sleep();
    grove::sleep();
    const std::string info = grove::util::format_run_info();
    const auto parent_at = info.find("+ #" + std::to_string(parent->minimal_ident()) + " ");
    const auto child_at = info.find("\"child\"");
    ASSERT_NE(parent_at, std::string::npos) << info;
    ASSERT_NE(child_at, std::string::npos) << info;
    EXPECT_LT(parent_at, child_at) << info;
    // The child's entry is indented one level (4 spaces) deeper than its parent's.
    const auto line_start = [&](std::size_t at) { return info.rfind('\n', at) + 1; };
    EXPECT_EQ(info.find('+', line_start(child_at)) - line_start(child_at),
              info.find('+', line_start(parent_at)) - line_start(parent_at) + 4)
        << info;
    EXPECT_NE(entry_of(info, "parent").find("in spawn_a_child_then_wait()"), std::string::npos) << info;
    grove::killall({parent});
    grove::Hub& hub = grove::get_hub();
    for (int i = 0; i < 10 && hub.live_count() > 0; ++i) grove::sleep();
    // The child outlives its parent; killed by the fixture's teardown otherwise.
    const std::string after = grove::util::format_run_info();
    EXPECT_NE(after.find("spawned by #" + std::to_string(parent->minimal_ident()) + " (gone)"), std::string::npos)
        << after;
    hub.destroy();
}

TEST_F(RunInfo, ShowsRunningTimeWhenTimingIsOn) {
    if (auto* hub = grove::get_hub_if_exists()) hub->destroy();
    grove::detail::enable_greenlet_timing();  // GROVE_GREENLET_TIMING=1; read by hubs made from now on
    auto g = grove::spawn_with({.name = "timed"}, wait_on_timer);
    grove::sleep();
    const std::string info = grove::util::format_run_info();
    EXPECT_NE(entry_of(info, "timed").find(" ms, spawned "), std::string::npos) << info;
    EXPECT_NE(entry_of(info, "timed").find("; 1 switches, ran "), std::string::npos) << info;
    g->kill();
}

TEST_F(RunInfo, ListsTheHubsOfOtherThreads) {
    auto stop = std::make_shared<bool>(false);
    std::promise<std::shared_ptr<grove::Hub::Remote>> ready;
    std::thread other([&] {
        auto g = grove::spawn_with({.name = "on-other-thread"}, other_thread_waits, stop);
        grove::sleep();
        ready.set_value(grove::get_hub().remote());
        g->join();
        grove::get_hub().destroy();
    });
    auto remote = ready.get_future().get();
    grove::get_hub();  // this thread waits for the other hub's answer cooperatively
    // A generous bound: the other hub symbolises its stacks (DWARF) before it
    // answers, which takes far longer than the default 0.5 s on a loaded machine.
    const std::string info = grove::util::format_run_info(grove::Duration(30));
    EXPECT_EQ(count_occurrences(info, "Hub of thread"), 2) << info;
    EXPECT_NE(entry_of(info, "on-other-thread").find("in other_thread_waits("), std::string::npos) << info;
    remote->post([stop] { *stop = true; });
    other.join();
}

}  // namespace
