// Where a greenlet's record lives (lib/core/greenlet_record.hpp): in the
// record slab until its greenlet first waits, then in the room at the top of
// the greenlet's own stack, then off the stack again at death. A parked
// greenlet then costs its stack page and its object; the slab's chunks go
// back to the kernel. These tests pin down that the record moves when it
// should, that nothing it holds is lost on the way, and that code reaching
// the record across a switch finds the moved one (the ASan leg catches a
// stale reference as a heap use after free).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/local.hpp>
#include <grove/sync/event.hpp>

#include "leak_check.hpp"
#include "runtime.hpp"
#include "stack.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;
using RecordHome = test::LeakChecked;
using detail::Runtime;

detail::RecordHome home_of(const GreenletBase& g) { return Runtime::record(g).home; }

bool at_its_stack_top(const GreenletBase& g) {
    const detail::GreenletRecord& r = Runtime::record(g);
    return static_cast<const void*>(&r) == detail::record_room(r.ctx);
}

TEST_F(RecordHome, ARecordStaysInTheSlabUntilItsGreenletFirstWaits) {
    Event ev;
    detail::RecordHome after_yield{};
    auto g = spawn([&] {
        sleep();  // a yield is not a wait: it is back on the queue
        after_yield = home_of(*getcurrent());
        ev.wait();
    });
    EXPECT_NE(home_of(*g), detail::RecordHome::Stack);
    sleep();
    sleep();
    EXPECT_NE(after_yield, detail::RecordHome::Stack);
    EXPECT_EQ(home_of(*g), detail::RecordHome::Stack);
    EXPECT_TRUE(at_its_stack_top(*g));
    ev.set();
    g->join();
    EXPECT_NE(home_of(*g), detail::RecordHome::Stack) << "a dead greenlet's record must leave its stack";
    EXPECT_TRUE(g->successful());
}

TEST_F(RecordHome, TheUsableStackIsAtLeastWhatWasAskedAndTheRoomSitsAboveIt) {
    Event ev;
    SpawnOptions options;
    options.stack_size = 64 * 1024;
    auto g = spawn_with(options, [&] { ev.wait(); });
    sleep();
    const detail::ContextState& c = Runtime::record(*g).ctx;
    EXPECT_GE(c.stack_size, 64u * 1024u);
    EXPECT_TRUE(at_its_stack_top(*g));
    ev.set();
    g->join();
}

TEST_F(RecordHome, NameLinksAndAKillSurviveTheMoveToTheStack) {
    Event ev;
    int linked = 0;
    std::string seen_name;
    auto g = spawn_with(SpawnOptions{0, "mover"}, [&] {
        seen_name = getcurrent()->name();
        ev.wait();
    });
    g->link([&](GreenletBase&) { ++linked; });
    sleep();
    ASSERT_EQ(home_of(*g), detail::RecordHome::Stack);
    EXPECT_NE(g->describe().find("mover"), std::string::npos);
    g->kill(std::make_exception_ptr(std::runtime_error("stop")));
    EXPECT_TRUE(g->dead());
    EXPECT_EQ(seen_name, "mover");
    ASSERT_TRUE(g->exception());
    EXPECT_THROW(std::rethrow_exception(g->exception()), std::runtime_error);
    sleep();  // the hub runs the links
    EXPECT_EQ(linked, 1);
    EXPECT_NE(home_of(*g), detail::RecordHome::Stack);
}

TEST_F(RecordHome, ALocalValueWhoseDestructorWaitsAtDeathIsDestroyedOnce) {
    // The greenlet never waits before it dies; its local value's destructor
    // then waits for the first time, which moves the record in the middle of
    // destroying the locals held in it.
    struct ParksWhenDestroyed {
        int* destroyed = nullptr;
        ~ParksWhenDestroyed() {
            sleep(1ms);
            if (destroyed) ++*destroyed;
        }
    };
    local<ParksWhenDestroyed> value;
    int destroyed = 0;
    auto g = spawn([&] { value->destroyed = &destroyed; });
    g->join();
    EXPECT_TRUE(g->successful());
    EXPECT_EQ(destroyed, 1);
}

TEST_F(RecordHome, AGreenletWaitingManyTimesMovesOnceAndKeepsItsState) {
    Event a, b;
    int rounds = 0;
    auto g = spawn([&] {
        for (int i = 0; i < 100; ++i) {
            sleep(0.0001s);
            ++rounds;
        }
        a.set();
        b.wait();
    });
    a.wait();
    EXPECT_EQ(rounds, 100);
    EXPECT_TRUE(at_its_stack_top(*g));
    EXPECT_GE(Runtime::record(*g).switches, 100u);
    b.set();
    g->join();
}

TEST_F(RecordHome, ParkedGreenletsGiveTheSlabsMemoryBack) {
    if (detail::record_slab_chunks() < 0) GTEST_SKIP() << "no record slab in this build (sanitizers, valgrind)";
    constexpr int kGreenlets = 5000;  // ~30 chunks of records
    Event ev;
    std::vector<Ref<GreenletBase>> parked;
    parked.reserve(kGreenlets);
    sleep();
    const long before = detail::record_slab_chunks();
    for (int i = 0; i < kGreenlets; ++i) parked.push_back(spawn([&] { ev.wait(); }));
    const long spawned = detail::record_slab_chunks();
    EXPECT_GE(spawned - before, kGreenlets / 200) << "the records were expected in the slab";
    sleep();  // every one waits: its record moves to its stack
    for (const auto& g : parked) ASSERT_EQ(home_of(*g), detail::RecordHome::Stack);
    const long after_park = detail::record_slab_chunks();
    EXPECT_LE(after_park - before, 8) << "chunks emptied by waiting greenlets must go back (a few kept)";
    ev.set();
    joinall(parked);
}

TEST_F(RecordHome, RecordsFreedOnAnotherThreadGoBackToo) {
    if (detail::record_slab_chunks() < 0) GTEST_SKIP() << "no record slab in this build (sanitizers, valgrind)";
    std::vector<Ref<GreenletBase>> done;
    for (int i = 0; i < 3000; ++i) done.push_back(spawn([] {}));
    joinall(done);
    const long held = detail::record_slab_chunks();
    std::thread([&done] { done.clear(); }).join();  // the last Refs drop there
    const long after = detail::record_slab_chunks();
    EXPECT_GE(held - after, 3000 / 200) << "chunks emptied on another thread must be unmapped there";
}

}  // namespace
}  // namespace grove
