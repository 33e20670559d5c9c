// The page hand-over (lib/core/compact.cpp): the top page of a compact stack
// that was copied out is moved to the top of the next fresh compact stack
// instead of being given back and a new one faulted in. Residency is read with
// mincore(), the kernel's answer. Where the kernel cannot move pages (before
// Linux 6.8, under a filter, valgrind builds) these tests skip.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/sync/event.hpp>

#include "compact.hpp"
#include "internal.hpp"
#include "leak_check.hpp"
#include "residency.hpp"

namespace grove {
namespace {

using PageHandover = test::LeakChecked;

using test::resident;
constexpr std::size_t kBatch = detail::kCompactBatch;  // parked greenlets copied out together

std::uint64_t handed_over() { return detail::compact_counts().pages_handed_over; }

// A compact greenlet that fills a frame near its stack's top with a pattern,
// parks on `wake`, and checks every byte when it resumes.
struct Parker {
    std::unique_ptr<Event> wake = std::make_unique<Event>();
    std::uintptr_t top_local = 0;  // an address in its stack's top page
    Ref<Greenlet<bool>> greenlet;

    void start(unsigned seed) {
        SpawnOptions o;
        o.compact = true;
        greenlet = spawn_with(o, [this, seed] {
            unsigned char frame[512];
            for (std::size_t i = 0; i < sizeof frame; ++i) frame[i] = static_cast<unsigned char>(i * 13 + seed);
            top_local = reinterpret_cast<std::uintptr_t>(&frame[0]);
            wake->wait();
            for (std::size_t i = 0; i < sizeof frame; ++i)
                if (frame[i] != static_cast<unsigned char>(i * 13 + seed)) return false;
            return true;
        });
    }
};

std::vector<Parker> park(std::size_t n, unsigned first_seed) {
    std::vector<Parker> parkers(n);
    for (std::size_t i = 0; i < n; ++i) parkers[i].start(first_seed + static_cast<unsigned>(i));
    sleep();  // each runs to its wait; the batch's last park copies them all out
    return parkers;
}

void wake_and_check(std::vector<Parker>& parkers) {
    for (auto& p : parkers) p.wake->set();
    for (auto& p : parkers) EXPECT_TRUE(p.greenlet->get().value()) << "a byte of a parked frame changed";
}

TEST_F(PageHandover, FreshCompactStacksTakeTheTopPagesOfCopiedOutOnesAndEveryFrameSurvives) {
    if (!detail::compact_page_handover_supported()) GTEST_SKIP() << "this kernel cannot move pages (UFFDIO_MOVE)";
    const auto out_before = detail::compact_counts().copied_out;
    auto first = park(kBatch, 1);
    ASSERT_EQ(detail::compact_counts().copied_out, out_before + kBatch);
    // Copied out, yet each top page is still there: lent, waiting for a fresh stack.
    for (auto& p : first) EXPECT_TRUE(resident(p.top_local));

    // One owner runs before its page is taken: it gets its own page back.
    first[5].wake->set();
    EXPECT_TRUE(first[5].greenlet->get().value());

    const auto before = handed_over();
    auto second = park(kBatch, 1000);
    // Every lent page but the owner's went to a fresh stack (the last fresh
    // one may start before the batch that would lend it one is flushed).
    EXPECT_GE(handed_over() - before, kBatch - 2);
    EXPECT_LE(handed_over() - before, kBatch - 1);
    std::size_t still_here = 0;
    for (std::size_t i = 0; i < first.size(); ++i)
        if (i != 5 && resident(first[i].top_local)) ++still_here;
    EXPECT_LE(still_here, 1u) << "moved pages are no longer at their old owners' addresses";

    wake_and_check(first);
    wake_and_check(second);
}

TEST_F(PageHandover, IdleGivesTheSparePagesBack) {
    if (!detail::compact_page_handover_supported()) GTEST_SKIP() << "this kernel cannot move pages (UFFDIO_MOVE)";
    auto parkers = park(kBatch, 7);
    std::size_t lent = 0;
    for (auto& p : parkers) lent += resident(p.top_local) ? 1 : 0;
    EXPECT_EQ(lent, kBatch);
    sleep(std::chrono::milliseconds(1));  // the hub blocks: nothing fresh is coming
    for (auto& p : parkers) EXPECT_FALSE(resident(p.top_local)) << "a spare page outlived the hub's idle";
    wake_and_check(parkers);
}

// A forked child inherits the process's userfaultfd, whose moves would act on
// the parent's memory: the child must never use it (grove drops it at fork;
// Linux 6.18 refuses such a move too, so this pins the outcome, not the
// mechanism). The parent's pages are made its own (written after the fork)
// and lent again, at the very addresses the child's copy of the spare list
// names, before the child starts fresh stacks.
TEST_F(PageHandover, AForkedChildNeverMovesItsParentsPages) {
    if (!detail::compact_page_handover_supported()) GTEST_SKIP() << "this kernel cannot move pages (UFFDIO_MOVE)";
    Event first, second;
    std::vector<std::uintptr_t> top(kBatch);
    std::vector<Ref<Greenlet<bool>>> parkers;
    SpawnOptions o;
    o.compact = true;
    for (std::size_t i = 0; i < kBatch; ++i)
        parkers.push_back(spawn_with(o, [&, i] {
            unsigned char frame[512];
            for (std::size_t b = 0; b < sizeof frame; ++b) frame[b] = static_cast<unsigned char>(b + i);
            top[i] = reinterpret_cast<std::uintptr_t>(&frame[0]);
            first.wait();
            second.wait();
            for (std::size_t b = 0; b < sizeof frame; ++b)
                if (frame[b] != static_cast<unsigned char>(b + i)) return false;
            return true;
        }));
    sleep();  // all parked and copied out: their top pages are lent
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    const pid_t pid = fork();
    if (pid == 0) {
        close(go[1]);
        char byte = 0;
        if (read(go[0], &byte, 1) != 1) std::_Exit(2);
        reinit();
        auto fresh = park(kBatch, 500);  // fresh stacks: they take the spare pages
        bool ok = true;
        for (auto& p : fresh) p.wake->set();
        for (auto& p : fresh) ok = ok && p.greenlet->get().value();
        std::_Exit(ok ? 0 : 1);
    }
    ASSERT_GT(pid, 0);
    close(go[0]);
    first.set();
    sleep();  // each resumes (its page, written, is the parent's own now) and parks again
    for (std::size_t i = 0; i < kBatch; ++i) ASSERT_TRUE(resident(top[i])) << "not lent again";
    ASSERT_EQ(write(go[1], "x", 1), 1);
    close(go[1]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child's compact greenlets failed";
    for (std::size_t i = 0; i < kBatch; ++i) EXPECT_TRUE(resident(top[i])) << "the child moved a page of its parent";
    second.set();
    for (auto& g : parkers) EXPECT_TRUE(g->get().value());
}

}  // namespace
}  // namespace grove
