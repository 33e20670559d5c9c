// Where greenlet objects live: the per-thread block cache behind spawn()
// (grove/detail/greenlet_alloc.hpp). Sanitizer and valgrind builds bypass the
// cache on purpose (a use after free must be caught there), so the tests that
// pin the cache's own behaviour skip in those builds.
#include <gtest/gtest.h>

#include <malloc.h>

#include <cstring>
#include <thread>
#include <vector>

#include <grove/detail/greenlet_alloc.hpp>
#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "internal.hpp"
#include "leak_check.hpp"

namespace grove {
namespace {

using detail::greenlet_block_allocate;
using detail::greenlet_block_free;

constexpr bool kCacheBypassed = !GROVE_BLOCK_CACHE;  // lib/core/internal.hpp

using GreenletAlloc = test::LeakChecked;

TEST_F(GreenletAlloc, AFreedBlockIsReusedForTheNextRequestOfItsSizeClass) {
    if (kCacheBypassed) GTEST_SKIP() << "sanitizer/valgrind build: blocks go straight to operator new";
    void* a = greenlet_block_allocate(424);
    greenlet_block_free(a, 424);
    void* b = greenlet_block_allocate(420);  // same malloc chunk size (432) as 424
    EXPECT_EQ(a, b);
    greenlet_block_free(b, 420);
}

TEST_F(GreenletAlloc, ABlockIsNeverHandedOutForALargerSizeClass) {
    void* small = greenlet_block_allocate(64);
    greenlet_block_free(small, 64);
    void* big = greenlet_block_allocate(1000);
    EXPECT_NE(small, big);
    std::memset(big, 0xab, 1000);  // the whole request is usable
    greenlet_block_free(big, 1000);
}

// A cached small block waits on its list; the large request must not get it
// (or any block smaller than asked): malloc itself vouches for the size.
TEST_F(GreenletAlloc, ABlockBeyondTheLargestClassIsUsableInFull) {
    constexpr std::size_t kHuge = 64 * 1024;
    void* small = greenlet_block_allocate(16);
    greenlet_block_free(small, 16);
    void* huge = greenlet_block_allocate(kHuge);
    EXPECT_GE(malloc_usable_size(huge), kHuge);
    std::memset(huge, 0xcd, kHuge);
    greenlet_block_free(huge, kHuge);
}

TEST_F(GreenletAlloc, AGreenletDroppedOnAnotherThreadIsFreedThereSafely) {
    std::vector<Ref<GreenletBase>> done;
    for (int i = 0; i < 100; ++i) done.push_back(spawn([i] { return i * 2; }));
    joinall(done);
    std::thread([moved = std::move(done)]() mutable { moved.clear(); }).join();
    // The main thread's cache still works after the other thread came and went.
    auto g = spawn([] { return 7; });
    EXPECT_EQ(g->get().value(), 7);
}

TEST_F(GreenletAlloc, AThreadsCachedBlocksAreReturnedWhenItExits) {
    if (kCacheBypassed) GTEST_SKIP() << "sanitizer/valgrind build: no cache to return";
    // Blocks come from the main thread's malloc arena (mallinfo2 sees only that
    // one); a second thread frees them into its own cache and exits.
    constexpr int kBlocks = 2000;
    constexpr std::size_t kSize = 448;
    std::vector<void*> blocks;
    for (int i = 0; i < kBlocks; ++i) blocks.push_back(greenlet_block_allocate(kSize));
    const std::size_t held = mallinfo2().uordblks;
    std::thread([&blocks] {
        for (void* b : blocks) greenlet_block_free(b, kSize);
    }).join();
    blocks.clear();
    const std::size_t after = mallinfo2().uordblks;
    // Without the exit cleanup ~1024 blocks (~450 KiB) would stay allocated.
    EXPECT_LT(after + kBlocks * kSize * 9 / 10, held) << "held " << held << " after " << after;
}

}  // namespace
}  // namespace grove
