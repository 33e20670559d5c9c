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

// The runtime's record of a greenlet (lib/core/greenlet_record.hpp) sits in
// the block spawn()/make() allocate, right after the object: one allocation
// per greenlet, and the record's cache lines next to the object's.
struct Counted : Greenlet<int> {
    Counted() = default;
    int run() override { return 42; }
};

bool record_in_block_of(const GreenletBase& g, std::size_t object_size) {
    const auto* record = reinterpret_cast<const char*>(&detail::Runtime::record(g));
    const auto* object = reinterpret_cast<const char*>(&g);
    // After the object, within the control block's tail and the record's alignment.
    return record > object && record < object + object_size + 64;
}

TEST_F(GreenletAlloc, SpawnAndMakePlaceTheRecordInTheGreenletsOwnBlock) {
    auto spawned = spawn([] { return 1; });
    auto made = make<Counted>();
    EXPECT_TRUE(detail::Runtime::record(*spawned).co_allocated);
    EXPECT_TRUE(detail::Runtime::record(*made).co_allocated);
    EXPECT_TRUE(record_in_block_of(*made, sizeof(Counted)));
    made->start();
    EXPECT_EQ(made->get().value(), 42);
    EXPECT_EQ(spawned->get().value(), 1);
}

TEST_F(GreenletAlloc, AGreenletMadeWithoutGroveGetsARecordOfItsOwn) {
    // std::make_shared does not reserve room for the record, and the
    // reservation left by an allocation that no greenlet took must not be
    // taken by a greenlet living elsewhere.
    constexpr std::size_t kBytes = 64;
    void* unused = detail::greenlet_block_allocate_with_record(kBytes);
    auto plain = std::make_shared<Counted>();
    const auto* record = reinterpret_cast<const char*>(&detail::Runtime::record(*plain));
    const auto* block = static_cast<const char*>(unused);
    EXPECT_FALSE(detail::Runtime::record(*plain).co_allocated);
    EXPECT_FALSE(record >= block && record < block + kBytes + sizeof(detail::GreenletRecord));
    detail::greenlet_block_free_with_record(unused, kBytes);
    plain->start();
    EXPECT_EQ(plain->get().value(), 42);
}

}  // namespace
}  // namespace grove
