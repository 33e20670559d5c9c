// grove internal — the per-thread slab of greenlet records (record_slab.hpp).
//
// Chunks of 64 KiB, aligned to their size, so that a slot finds its chunk by
// masking its address. A chunk's `live` counts its slots not yet freed, plus
// one while it is a thread's current chunk (the one new records are carved
// from, in order). Frees into the current chunk on its own thread are counted
// locally, without an atomic, and folded into `live` when the chunk stops
// being current; a spawn+join loop therefore never touches an atomic, and
// reuses one hot slot (the newest slot, freed, is handed out again). Whoever
// brings `live` to zero owns the empty chunk: it keeps it as a spare, or
// unmaps it. Nothing else is shared, so a record made on one thread may be
// freed on any.
#include "record_slab.hpp"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <new>

#include "greenlet_record.hpp"

namespace grove::detail {

static_assert(sizeof(GreenletRecord) <= kRecordSlotBytes && alignof(GreenletRecord) <= 64,
              "a greenlet record must fit a slab slot and its stack's record room");

#if GROVE_BLOCK_CACHE
namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;
constexpr std::size_t kHeaderBytes = 64;
constexpr std::int64_t kSlots = (kChunkBytes - kHeaderBytes) / kRecordSlotBytes;
// Empty chunks kept for the next burst of spawns while the hub is busy
// (16 MiB, ~43k records), and once it goes idle or when the chunk was
// emptied by greenlets parking (their records moved to their stacks).
constexpr std::size_t kSpareCap = 256;
constexpr std::size_t kIdleReserve = 4;
// Chunks are carved from 2 MiB regions, mapped one at a time: one mapping per
// chunk would cost a VMA per ~170 records, and 10M compact greenlets (whose
// records stay here) would then pass vm.max_map_count (65530).
constexpr std::size_t kRegionChunks = 32;

std::atomic<long> g_chunks{0};  // carved and not unmapped since (tests read it)

struct Chunk {
    std::atomic<std::int64_t> live;
    Chunk* next_spare;
};
static_assert(sizeof(Chunk) <= kHeaderBytes);

struct Slab {
    Chunk* current;
    char* next;  // next slot of `current` to hand out
    char* end;
    std::int64_t local_freed;  // frees into `current` on this thread, not yet in its `live`
    Chunk* spares;
    std::size_t spare_count;
    char* region_next;  // the next chunk of this thread's current region, untouched so far
    char* region_end;
    bool registered;  // a thread_local owner empties the slab at thread exit
    bool closed;      // the thread is exiting: no spares, no new records
};

// constinit: a plain %fs-relative load on the spawn path.
[[gnu::tls_model("initial-exec")]] constinit thread_local Slab t_slab{};

Chunk* chunk_of(void* slot) noexcept {
    return reinterpret_cast<Chunk*>(reinterpret_cast<std::uintptr_t>(slot) & ~(kChunkBytes - 1));
}

char* first_slot(Chunk* c) noexcept { return reinterpret_cast<char*>(c) + kHeaderBytes; }

Chunk* map_chunk() {
    Slab& s = t_slab;
    if (s.region_next == s.region_end) {
        // One chunk more than the region, trimmed to chunk alignment.
        constexpr std::size_t region = kRegionChunks * kChunkBytes;
        void* p = mmap(nullptr, region + kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        const auto at = reinterpret_cast<std::uintptr_t>(p);
        const std::uintptr_t aligned = (at + kChunkBytes - 1) & ~(kChunkBytes - 1);
        if (aligned > at) munmap(p, aligned - at);
        const std::uintptr_t tail = at + region + kChunkBytes - (aligned + region);
        if (tail > 0) munmap(reinterpret_cast<void*>(aligned + region), tail);
        s.region_next = reinterpret_cast<char*>(aligned);
        s.region_end = s.region_next + region;
    }
    void* chunk = s.region_next;
    s.region_next += kChunkBytes;
    g_chunks.fetch_add(1, std::memory_order_relaxed);
    return new (chunk) Chunk{};
}

void unmap_chunk(Chunk* c) noexcept {
    munmap(c, kChunkBytes);
    g_chunks.fetch_sub(1, std::memory_order_relaxed);
}

void make_current(Chunk* c) noexcept {
    Slab& s = t_slab;
    c->live.store(kSlots + 1, std::memory_order_relaxed);
    s.current = c;
    s.next = first_slot(c);
    s.end = s.next + kSlots * kRecordSlotBytes;
    s.local_freed = 0;
}

// Drops this thread's hold on its current chunk (the slots never handed out,
// the frees counted locally, and the +1). True if nothing in it is alive: the
// caller owns the chunk then.
bool release_current() noexcept {
    Slab& s = t_slab;
    Chunk* c = s.current;
    const std::int64_t unused = (s.end - s.next) / static_cast<std::ptrdiff_t>(kRecordSlotBytes);
    const std::int64_t drop = s.local_freed + unused + 1;
    s.current = nullptr;
    s.next = s.end = nullptr;
    s.local_freed = 0;
    return c->live.fetch_sub(drop, std::memory_order_acq_rel) == drop;
}

void keep_or_unmap(Chunk* c, bool parked) noexcept {
    Slab& s = t_slab;
    if (s.registered && !s.closed && s.spare_count < (parked ? kIdleReserve : kSpareCap)) {
        c->next_spare = s.spares;
        s.spares = c;
        ++s.spare_count;
        return;
    }
    unmap_chunk(c);
}

void unmap_spares(std::size_t keep) noexcept {
    Slab& s = t_slab;
    while (s.spare_count > keep) {
        Chunk* c = s.spares;
        s.spares = c->next_spare;
        --s.spare_count;
        unmap_chunk(c);
    }
}

struct SlabOwner {
    ~SlabOwner() {
        Slab& s = t_slab;
        s.closed = true;
        if (Chunk* c = s.current; c && release_current()) unmap_chunk(c);
        unmap_spares(0);
        if (s.region_next != s.region_end)
            munmap(s.region_next, static_cast<std::size_t>(s.region_end - s.region_next));
        s.region_next = s.region_end = nullptr;
    }
};

[[gnu::noinline]] void register_owner() {
    thread_local SlabOwner owner;  // first use: queues its destructor for this thread's exit
    (void)&owner;
    t_slab.registered = true;
}

[[gnu::noinline]] void* allocate_slow() {
    Slab& s = t_slab;
    if (s.closed) return nullptr;  // thread exit: the caller takes a heap block
    if (!s.registered) register_owner();
    if (Chunk* c = s.current) {
        if (release_current()) {
            make_current(c);  // all of it freed already: reuse it in place, still hot
        }                     // else the last free of its records owns it
    }
    if (!s.current) {
        if (Chunk* spare = s.spares) {
            s.spares = spare->next_spare;
            --s.spare_count;
            make_current(spare);
        } else {
            make_current(map_chunk());
        }
    }
    void* slot = s.next;
    s.next += kRecordSlotBytes;
    return slot;
}

}  // namespace

void* record_slab_allocate() {
    Slab& s = t_slab;
    if (s.next != s.end) [[likely]] {
        void* slot = s.next;
        s.next += kRecordSlotBytes;
        return slot;
    }
    return allocate_slow();
}

void record_slab_free(void* slot, bool parked) noexcept {
    Chunk* c = chunk_of(slot);
    Slab& s = t_slab;
    if (c == s.current) [[likely]] {
        // The newest slot is handed out again next, still hot in the cache:
        // a spawn+join loop keeps using one slot, as it keeps one object block.
        if (static_cast<char*>(slot) + kRecordSlotBytes == s.next)
            s.next = static_cast<char*>(slot);
        else
            ++s.local_freed;
        return;
    }
    if (c->live.fetch_sub(1, std::memory_order_acq_rel) == 1) keep_or_unmap(c, parked);
}

void record_slab_trim() noexcept {
    if (t_slab.spare_count > kIdleReserve) [[unlikely]]
        unmap_spares(kIdleReserve);
}

long record_slab_chunks() noexcept { return g_chunks.load(std::memory_order_relaxed); }

#else

void* record_slab_allocate() { return nullptr; }
void record_slab_free(void*, bool) noexcept {}
void record_slab_trim() noexcept {}
long record_slab_chunks() noexcept { return -1; }

#endif

}  // namespace grove::detail
