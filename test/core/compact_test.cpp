// Compact greenlets (SpawnOptions::compact, lib/core/compact.hpp): a parked
// one is copied out of its stack and the stack's pages go back to the kernel;
// it resumes with every byte of its frames as it left them. grove's own wait
// objects on its stack keep it in place. The pages' residency is read with
// mincore(), the kernel's own answer, not grove's bookkeeping.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <condition_variable>
#include <stdexcept>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/io/threadpool.hpp>
#include <grove/io/wait.hpp>
#include <grove/sync/channel.hpp>
#include <grove/sync/event.hpp>
#include <grove/sync/joinable_queue.hpp>
#include <grove/sync/lock.hpp>
#include <grove/sync/queue.hpp>
#include <grove/timeout.hpp>
#include <grove/wait.hpp>

#include "compact.hpp"
#include "internal.hpp"
#include "leak_check.hpp"
#include "residency.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;
using Compact = test::LeakChecked;
using test::resident;

SpawnOptions compact_options(bool on = true) {
    SpawnOptions o;
    o.compact = on;
    return o;
}

std::uint64_t copies_out() { return detail::compact_counts().copied_out; }

// Fills a 16 KiB frame with a pattern, sleeps inside it, and checks every
// byte after waking: the frame spans several pages, all given back meanwhile.
[[gnu::noinline]] bool deep_frame_survives_a_sleep(std::uintptr_t* where, unsigned seed) {
    volatile unsigned char frame[16 * 1024];
    for (std::size_t i = 0; i < sizeof frame; ++i) frame[i] = static_cast<unsigned char>(i * 31 + seed);
    *where = reinterpret_cast<std::uintptr_t>(&frame[0]);
    sleep(20ms);
    for (std::size_t i = 0; i < sizeof frame; ++i)
        if (frame[i] != static_cast<unsigned char>(i * 31 + seed)) return false;
    return true;
}

TEST_F(Compact, ASleepingCompactGreenletGivesItsStackPagesBackAndResumesIntact) {
    std::uintptr_t frame = 0;
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [&frame] { return deep_frame_survives_a_sleep(&frame, 7); });
    sleep(5ms);  // it is asleep now
    ASSERT_NE(frame, 0u);
    EXPECT_EQ(copies_out(), before + 1);
    EXPECT_FALSE(resident(frame)) << "the deep frame's page is still in memory while it sleeps";
    EXPECT_TRUE(g->get().value()) << "a byte of its frame changed across the copy out and back";
}

TEST_F(Compact, ADefaultGreenletKeepsItsStackWhileItSleeps) {
    std::uintptr_t frame = 0;
    const auto before = copies_out();
    auto g = spawn([&frame] { return deep_frame_survives_a_sleep(&frame, 3); });
    sleep(5ms);
    EXPECT_EQ(copies_out(), before);
    EXPECT_TRUE(resident(frame));
    EXPECT_TRUE(g->get().value());
}

TEST_F(Compact, TheHubDefaultMakesGreenletsCompactAndAnExplicitNoWins) {
    get_hub().set_compact_default(true);
    EXPECT_TRUE(get_hub().compact_default());
    const auto before = copies_out();
    auto by_default = spawn([] { sleep(5ms); });
    auto opted_out = spawn_with(compact_options(false), [] { sleep(5ms); });
    sleep(1ms);
    EXPECT_EQ(copies_out(), before + 1);
    get_hub().set_compact_default(false);
    joinall({by_default, opted_out});
}

TEST_F(Compact, AYieldIsNotAPark) {
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [] {
        for (int i = 0; i < 100; ++i) sleep();
    });
    g->join();
    EXPECT_EQ(copies_out(), before);
}

// Each of grove's wait objects on its stack keeps it in place: something
// else reaches into the stack through it while it is parked.
TEST_F(Compact, AnEventOnItsStackKeepsItInPlace) {
    std::uintptr_t frame = 0;
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [&frame] {
        Event mine;  // children could wait on it: its list is on this stack
        return deep_frame_survives_a_sleep(&frame, 1);
    });
    sleep(5ms);
    EXPECT_EQ(copies_out(), before);
    EXPECT_TRUE(resident(frame));
    EXPECT_TRUE(g->get().value());
}

TEST_F(Compact, ATimeoutOnItsStackKeepsItInPlaceAndStillFires) {
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [] {
        try {
            Timeout t(5ms);
            sleep(1s);
        } catch (const TimeoutError&) {
            return true;
        }
        return false;
    });
    sleep(1ms);
    EXPECT_EQ(copies_out(), before);
    EXPECT_TRUE(g->get().value()) << "the Timeout did not end the sleep";
}

// grove/sync's waits keep their Waiter and node on the heap for a compact
// greenlet (grove::WaitSite): it is copied out while it waits on them.
TEST_F(Compact, AGreenletWaitingOnAnEventIsCopiedOutAndTheWakeArrives) {
    Event ev;
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [&ev] { return ev.wait(1s); });
    sleep(1ms);
    EXPECT_EQ(copies_out(), before + 1);
    ev.set();
    EXPECT_TRUE(g->get().value());
}

TEST_F(Compact, OnceItsWaitObjectsAreGoneItIsCopiedOutAgain) {
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [] {
        { Event scoped; }
        sleep(5ms);
    });
    sleep(1ms);
    EXPECT_EQ(copies_out(), before + 1);
    g->join();
}

// An idle connection: a compact greenlet waiting for its socket to become
// readable is copied out, and reads what arrives when it resumes.
TEST_F(Compact, AGreenletWaitingOnASocketIsCopiedOutAndReadsWhatArrives) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    std::uintptr_t frame = 0;
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [&frame, fd = fds[0]] {
        volatile char mine[8 * 1024];
        std::memset(const_cast<char*>(mine), 'm', sizeof mine);
        frame = reinterpret_cast<std::uintptr_t>(&mine[0]);
        wait_read(fd);
        char got = 0;
        if (::read(fd, &got, 1) != 1) return std::string("read failed");
        return std::string(1, got) + (mine[0] == 'm' && mine[sizeof mine - 1] == 'm' ? " intact" : " changed");
    });
    sleep(5ms);
    EXPECT_EQ(copies_out(), before + 1);
    EXPECT_FALSE(resident(frame));
    ASSERT_EQ(::write(fds[1], "x", 1), 1);
    EXPECT_EQ(g->get().value(), "x intact");
    ::close(fds[0]);
    ::close(fds[1]);
}

// A long string: its characters are on the heap, but the string object itself
// (pointer, size) lies wherever the putter keeps it.
const std::string kLongItem(200, 'q');

TEST_F(Compact, AGetterWaitingOnAQueueIsCopiedOutAndGetsTheItem) {
    Queue<std::string> q;
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [&q] { return q.get(); });
    sleep(1ms);
    EXPECT_EQ(copies_out(), before + 1);
    q.put(kLongItem);
    EXPECT_EQ(g->get().value(), kLongItem);
}

TEST_F(Compact, APutterWaitingOnAFullQueueIsCopiedOutAndItsItemArrivesIntact) {
    Queue<std::string> q(1);
    q.put("first");
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [&q] {
        std::string item = kLongItem;  // on the putter's stack, then moved into its wait node
        q.put(std::move(item));
    });
    sleep(1ms);
    EXPECT_EQ(copies_out(), before + 1);
    EXPECT_EQ(q.peek(), "first");
    EXPECT_EQ(q.get(), "first");
    EXPECT_EQ(q.get(), kLongItem);  // taken from the copied-out putter
    g->join();
    EXPECT_TRUE(g->successful());
}

TEST_F(Compact, AChannelPutterAndAJoinableQueueJoinerAreCopiedOut) {
    Channel<std::string> ch;
    JoinableQueue<int> jobs;
    jobs.put(1);
    const auto before = copies_out();
    auto putter = spawn_with(compact_options(), [&ch] { ch.put(kLongItem); });
    auto joiner = spawn_with(compact_options(), [&jobs] { return jobs.join(1s); });
    sleep(1ms);
    EXPECT_EQ(copies_out(), before + 2);
    EXPECT_EQ(ch.get(), kLongItem);
    EXPECT_EQ(jobs.get(), 1);
    jobs.task_done();
    EXPECT_TRUE(joiner->get().value());
    putter->join();
    EXPECT_TRUE(putter->successful());
}

// iwait's state lies in the waiting greenlet's frame and the objects' nodes
// write into it when they become ready: it keeps a compact greenlet in place.
TEST_F(Compact, AGreenletInAMultiObjectWaitStaysInPlaceAndSeesEachReadyObject) {
    Event a, b;
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [&a, &b] {
        std::vector<Event*> events{&a, &b};
        return grove::wait(events).size();
    });
    sleep(2ms);
    EXPECT_EQ(copies_out(), before) << "copied out while iwait's nodes may write into its frame";
    b.set();
    sleep(1ms);
    a.set();
    EXPECT_EQ(g->get().value(), 2u);
}

TEST_F(Compact, AGreenletWaitingForAnRLockIsCopiedOutAndGetsIt) {
    RLock lock;
    lock.acquire();
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [&lock] {
        lock.acquire();
        lock.acquire();  // reentrant: its own
        lock.release();
        lock.release();
        return true;
    });
    sleep(1ms);
    EXPECT_EQ(copies_out(), before + 1);
    lock.release();
    EXPECT_TRUE(g->get().value());
}

TEST_F(Compact, AJoiningCompactGreenletIsCopiedOut) {
    auto sleeper = spawn([] { sleep(10ms); });
    const auto before = copies_out();
    auto joiner = spawn_with(compact_options(), [&sleeper] { return sleeper->join(); });
    sleep(2ms);
    EXPECT_EQ(copies_out(), before + 1);
    EXPECT_TRUE(joiner->get().value());
}

long mappings() {
    std::FILE* f = std::fopen("/proc/self/maps", "r");
    if (!f) throw std::runtime_error("cannot read /proc/self/maps");
    long lines = 0;
    for (int c; (c = std::fgetc(f)) != EOF;) lines += c == '\n';
    std::fclose(f);
    return lines;
}

// vm.max_map_count (65530 by default) bounds how many compact greenlets a
// process can hold if their stacks or records cost mappings: 10M need far
// fewer than one mapping per thousand.
TEST_F(Compact, FiveThousandCompactSleepersTakeAHandfulOfMappings) {
    Event wake;
    std::vector<Ref<GreenletBase>> sleepers;
    const long before = mappings();
    for (int i = 0; i < 5000; ++i) sleepers.push_back(spawn_with(compact_options(), [&wake] { wake.wait(); }));
    sleep(1ms);  // all parked, copied out
    const long grown = mappings() - before;
#if GROVE_BLOCK_CACHE
    constexpr long kMost = 16;  // 51 when slab chunks and 256-stack arenas each took a mapping
#else
    // Sanitizer and valgrind builds: their allocators map regions of their own
    // as the heap grows (39 here under ASan when this test runs first).
    // grove's own mappings are pinned by the normal build.
    constexpr long kMost = 64;
#endif
    EXPECT_LE(grown, kMost) << "mappings grew by " << grown << " for 5000 compact greenlets";
    wake.set();
    joinall(sleepers);
}

// A job on an OS thread, held until the test lets it go.
struct Gate {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    void pass() {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [this] { return open; });
    }
    void release() {
        {
            std::lock_guard<std::mutex> lock(m);
            open = true;
        }
        cv.notify_all();
    }
};

TEST_F(Compact, AGreenletWaitingForAThreadPoolJobIsCopiedOutAndGetsItsValue) {
    ThreadPool pool(1);
    Gate gate;
    std::uintptr_t frame = 0;
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [&] {
        volatile char mine[8 * 1024];
        std::memset(const_cast<char*>(mine), 'p', sizeof mine);
        frame = reinterpret_cast<std::uintptr_t>(&mine[0]);
        const int got = pool.apply([&gate] {
            gate.pass();
            return 42;
        });
        return got == 42 && mine[0] == 'p' && mine[sizeof mine - 1] == 'p';
    });
    sleep(5ms);
    EXPECT_EQ(copies_out(), before + 1) << "the hub's completion reaches a Waiter on its stack";
    EXPECT_FALSE(resident(frame));
    gate.release();
    EXPECT_TRUE(g->get().value()) << "wrong value, or a byte of its frame changed";
}

TEST_F(Compact, AGreenletJoiningAThreadPoolIsCopiedOut) {
    ThreadPool pool(1);
    Gate gate;
    auto submitter = spawn([&] { pool.apply([&gate] { gate.pass(); }); });
    sleep(1ms);  // the job is in flight
    const auto before = copies_out();
    auto joiner = spawn_with(compact_options(), [&pool] { return pool.join(); });
    sleep(5ms);
    EXPECT_EQ(copies_out(), before + 1);
    gate.release();
    EXPECT_TRUE(joiner->get().value());
    submitter->join();
}

struct CountsDestruction {
    int* count;
    ~CountsDestruction() { ++*count; }
};

TEST_F(Compact, KillingACopiedOutGreenletRunsEveryDestructorOnItsStack) {
    int destroyed = 0;
    const auto before = copies_out();
    auto g = spawn_with(compact_options(), [&destroyed] {
        CountsDestruction a{&destroyed};
        std::vector<int> heap(1000, 1);
        CountsDestruction b{&destroyed};
        sleep(1h);
    });
    sleep(1ms);
    ASSERT_EQ(copies_out(), before + 1);
    g->kill();
    EXPECT_TRUE(g->dead());
    EXPECT_EQ(destroyed, 2);
}

TEST_F(Compact, ACopiedOutGreenletKeepsItsOwnCaughtException) {
    // Inside a catch block, asleep: `throw;` after waking rethrows its own
    // exception, though another greenlet was inside a catch meanwhile.
    auto g = spawn_with(compact_options(), []() -> std::string {
        try {
            throw std::runtime_error("mine");
        } catch (...) {
            sleep(5ms);
            try {
                throw;
            } catch (const std::runtime_error& e) {
                return e.what();
            }
        }
    });
    auto other = spawn([] {
        try {
            throw std::logic_error("theirs");
        } catch (...) {
            sleep(10ms);
        }
    });
    EXPECT_EQ(g->get().value(), "mine");
    other->join();
}

TEST_F(Compact, ManyCompactSleepersEachWakeWithTheirOwnFrames) {
    std::vector<Ref<Greenlet<bool>>> all;
    std::vector<std::uintptr_t> frames(64);
    const auto before = copies_out();
    for (unsigned i = 0; i < frames.size(); ++i)
        all.push_back(
            spawn_with(compact_options(), [&frames, i] { return deep_frame_survives_a_sleep(&frames[i], i); }));
    sleep(5ms);
    EXPECT_EQ(copies_out(), before + frames.size());
    for (auto& g : all) EXPECT_TRUE(g->get().value());
    EXPECT_EQ(detail::compact_counts().copied_in, detail::compact_counts().copied_out);
}

#if GROVE_ASAN
TEST(CompactDeathTest, AddressSanitizerReportsATouchOfACopiedOutStack) {
    EXPECT_DEATH(
        {
            int* local = nullptr;
            auto g = spawn_with(compact_options(), [&local] {
                int mine = 1;
                local = &mine;
                sleep(1h);
                return mine;
            });
            sleep(1ms);
            *local = 2;  // the rule broken: its stack is copied out
        },
        "use-after-poison");
}
#endif

}  // namespace
}  // namespace grove
