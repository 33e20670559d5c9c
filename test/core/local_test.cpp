// grove::local<T>: one value per greenlet, built lazily, destroyed when the
// greenlet dies (killed too) on its own thread; the main greenlet's slot;
// locals dying before and after their greenlets.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/local.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using Local = test::LeakChecked;

// What each test's values report back: constructions, destructions, and where
// the destructor ran.
struct Counts {
    int made = 0;
    int destroyed = 0;
    std::vector<std::thread::id> destroyed_on;
    std::vector<GreenletBase*> destroyed_in;
};

struct Tracked {
    explicit Tracked(Counts& c) : counts(&c) { ++c.made; }
    Tracked(const Tracked&) = delete;
    ~Tracked() {
        ++counts->destroyed;
        counts->destroyed_on.push_back(std::this_thread::get_id());
        counts->destroyed_in.push_back(get_hub_if_exists() ? getcurrent() : nullptr);
    }
    Counts* counts;
    int value = 0;
};

TEST_F(Local, EachGreenletSeesItsOwnValue) {
    local<std::string> name;
    std::vector<std::string> seen;
    auto body = [&](std::string mine) {
        *name = mine;
        sleep();  // the others write theirs meanwhile
        sleep();
        seen.push_back(*name);
    };
    joinall(std::vector<Ref<GreenletBase>>{spawn(body, "a"), spawn(body, "b"), spawn(body, "c")});
    EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(Local, ValueIsBuiltOnFirstAccessInThatGreenletOnly) {
    int calls = 0;
    std::vector<GreenletBase*> built_in;
    local<int> x([&] {
        ++calls;
        built_in.push_back(getcurrent());
        return 7;
    });
    auto idle_one = spawn([] { sleep(); });
    auto user = spawn([&] {
        EXPECT_EQ(calls, 0);  // nothing built before the first access
        EXPECT_EQ(*x, 7);
        *x = 8;
        EXPECT_EQ(x.get(), 8);  // later accesses reuse it
    });
    joinall(std::vector<Ref<GreenletBase>>{idle_one, user});
    EXPECT_EQ(calls, 1);
    ASSERT_EQ(built_in.size(), 1u);
    EXPECT_EQ(built_in[0], user.get());
}

TEST_F(Local, ValueIsDestroyedWhenItsGreenletReturnsBeforeJoinersResume) {
    Counts counts;
    local<Tracked> t([&] { return Tracked(counts); });
    GreenletBase* who = nullptr;
    auto g = spawn([&] {
        who = getcurrent();
        t->value = 1;
    });
    g->join();
    EXPECT_EQ(counts.made, 1);
    EXPECT_EQ(counts.destroyed, 1);
    ASSERT_EQ(counts.destroyed_in.size(), 1u);
    EXPECT_EQ(counts.destroyed_in[0], who);  // on its own stack, as it died
}

TEST_F(Local, ValueIsDestroyedWhenItsGreenletThrows) {
    Counts counts;
    local<Tracked> t([&] { return Tracked(counts); });
    auto g = spawn([&] {
        t->value = 1;
        throw std::runtime_error("boom");
    });
    g->join();
    EXPECT_FALSE(g->successful());
    EXPECT_EQ(counts.destroyed, 1);
}

TEST_F(Local, KillingAGreenletRunsItsLocalsDestructors) {
    Counts counts;
    local<Tracked> t([&] { return Tracked(counts); });
    local<std::unique_ptr<int>> p;
    auto g = spawn([&] {
        t->value = 1;
        *p = std::make_unique<int>(5);  // ASan would see it leak if not destroyed
        sleep(10s);
    });
    sleep();
    ASSERT_EQ(counts.made, 1);
    EXPECT_EQ(counts.destroyed, 0);
    g->kill();
    EXPECT_TRUE(g->dead());
    EXPECT_EQ(counts.destroyed, 1);
    ASSERT_EQ(counts.destroyed_in.size(), 1u);
    EXPECT_EQ(counts.destroyed_in[0], g.get());
}

TEST_F(Local, MainGreenletHasItsOwnSlotDestroyedWithTheHub) {
    Counts counts;
    local<Tracked> t([&] { return Tracked(counts); });
    t->value = 42;
    int seen_in_child = -1;
    spawn([&] { seen_in_child = t->value; })->join();
    EXPECT_EQ(seen_in_child, 0);  // a fresh value, not main's
    EXPECT_EQ(t->value, 42);      // main's own survived the child's death
    EXPECT_EQ(counts.made, 2);
    EXPECT_EQ(counts.destroyed, 1);
    get_hub().destroy();  // what thread exit does
    EXPECT_EQ(counts.destroyed, 2);
}

TEST_F(Local, ManyGreenletsWithManyLocalsEachGetAndLoseTheirOwn) {
    constexpr int kGreenlets = 500;
    constexpr int kLocals = 20;
    Counts counts;
    std::vector<std::unique_ptr<local<Tracked>>> locals;
    for (int i = 0; i < kLocals; ++i)
        locals.push_back(std::make_unique<local<Tracked>>([&] { return Tracked(counts); }));
    int mismatches = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int g = 0; g < kGreenlets; ++g)
        gs.push_back(spawn([&, g] {
            for (int i = 0; i < kLocals; ++i) (*locals[i])->value = g * kLocals + i;
            sleep();
            for (int i = 0; i < kLocals; ++i)
                if ((*locals[i])->value != g * kLocals + i) ++mismatches;
        }));
    joinall(gs);
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(counts.made, kGreenlets * kLocals);
    EXPECT_EQ(counts.destroyed, kGreenlets * kLocals);
}

TEST_F(Local, LocalDyingBeforeItsGreenletsDestroysTheirValuesOnce) {
    Counts counts;
    auto t = std::make_unique<local<Tracked>>([&] { return Tracked(counts); });
    bool go = false;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < 3; ++i)
        gs.push_back(spawn([&] {
            (*t)->value = 1;
            while (!go) sleep();
        }));
    sleep();
    ASSERT_EQ(counts.made, 3);
    t.reset();  // the greenlets still live and hold values
    EXPECT_EQ(counts.destroyed, 3);
    go = true;
    joinall(gs);
    EXPECT_EQ(counts.destroyed, 3);  // their deaths do not destroy them again
    // A new local, possibly at the same address, starts fresh everywhere.
    local<int> fresh;
    spawn([&] { EXPECT_EQ(*fresh, 0); })->join();
}

TEST_F(Local, LocalOutlivingItsGreenletsStaysUsable) {
    Counts counts;
    local<Tracked> t([&] { return Tracked(counts); });
    for (int round = 0; round < 3; ++round) spawn([&] { t->value = 5; })->join();
    EXPECT_EQ(counts.made, 3);
    EXPECT_EQ(counts.destroyed, 3);
    spawn([&] { EXPECT_EQ(t->value, 0); })->join();
}

TEST_F(Local, ADestructorTouchingAnotherLocalLeavesNothingBehind) {
    Counts counts;
    local<Tracked> second([&] { return Tracked(counts); });
    struct TouchesSecond {
        local<Tracked>* second;
        ~TouchesSecond() { (*second)->value = 9; }  // made during the first one's death
    };
    local<TouchesSecond> first([&] { return TouchesSecond{&second}; });
    spawn([&] { (void)first.get(); })->join();
    EXPECT_EQ(counts.made, 1);
    EXPECT_EQ(counts.destroyed, 1);
}

TEST_F(Local, FactoryThatThrowsStoresNothingAndIsTriedAgain) {
    int calls = 0;
    local<int> x([&]() -> int {
        if (++calls == 1) throw std::runtime_error("first time");
        return 3;
    });
    spawn([&] {
        EXPECT_THROW(x.get(), std::runtime_error);
        EXPECT_EQ(*x, 3);
    })->join();
    EXPECT_EQ(calls, 2);
}

TEST_F(Local, ValuesOfAnotherThreadAreDestroyedOnThatThread) {
    Counts counts;
    local<Tracked> t([&] { return Tracked(counts); });
    std::thread::id worker_id;
    std::thread worker([&] {
        worker_id = std::this_thread::get_id();
        spawn([&] { t->value = 1; })->join();
        t->value = 2;  // the worker's main greenlet
        get_hub().destroy();
    });
    worker.join();
    ASSERT_EQ(counts.destroyed_on.size(), 2u);
    EXPECT_EQ(counts.destroyed_on[0], worker_id);
    EXPECT_EQ(counts.destroyed_on[1], worker_id);
}

// The trap grove::local exists for: a thread_local is one variable for every
// greenlet of the thread, so a blocking call lets another greenlet change it.
TEST_F(Local, ThreadLocalIsSharedByTheThreadsGreenletsLocalIsNot) {
    static thread_local int current_request = 0;
    local<int> request;
    std::vector<int> via_thread_local, via_local;
    auto handler = [&](int id) {
        current_request = id;
        *request = id;
        sleep();  // e.g. waiting on a database
        via_thread_local.push_back(current_request);
        via_local.push_back(*request);
    };
    joinall(std::vector<Ref<GreenletBase>>{spawn(handler, 1), spawn(handler, 2)});
    EXPECT_EQ(via_thread_local, (std::vector<int>{2, 2}));  // greenlet 1 sees 2's request
    EXPECT_EQ(via_local, (std::vector<int>{1, 2}));
}

}  // namespace
}  // namespace grove
