// grove internal — greenlet stacks: a per-thread pool of mmap'd stacks.
//
// Layout of one stack (addresses grow upwards, the stack grows downwards):
//
//   guarded (while the process-wide guard budget lasts):
//     [ guard page PROT_NONE ][ canary | ........ usable ........ | record room ]
//                              ^ stack_base                       ^ top
//   unguarded (beyond the budget, carved from large arenas):
//     [ canary | ........ usable ........ | record room ][ canary | ... next stack ...
//
// The record room (kRecordRoom bytes at the top) is not part of the usable
// size: a stack is mapped that much larger than asked, rounded to pages. Its
// greenlet's record moves there at the greenlet's first wait
// (greenlet_record.hpp), so a parked greenlet's record shares the page its
// newest frames already keep resident.
//
// On Linux 6.13+ (MADV_GUARD_INSTALL) every stack is carved from a large
// MAP_NORESERVE arena with a guard page installed inside the mapping: all
// stacks guarded, one mapping per 256 stacks. On older kernels each guarded
// stack is its own mapping plus a PROT_NONE split, two mappings, and
// vm.max_map_count is 65530 on a stock kernel: past a budget, stacks come from
// arenas unguarded and are protected by a canary word checked at every
// switch-out and at death instead. Pages are committed only when touched.
// Released stacks go on a LIFO free list (the hottest is reused first); those
// beyond a cap have their memory returned with MADV_DONTNEED.
#pragma once

#include "internal.hpp"

#include <cstddef>
#include <unordered_map>
#include <vector>

#include "context.hpp"
#include "record_slab.hpp"

namespace grove::detail {

/// Default usable stack size: GROVE_STACK_SIZE if set (bytes, or with a k/K,
/// m/M suffix), else 128 KiB; ×4 under AddressSanitizer.
std::size_t default_stack_size();

/// Bytes at the top of each stack, above its usable size, kept for its record.
inline constexpr std::size_t kRecordRoom = kRecordSlotBytes;

/// The record room of the stack `c` was given (right above its usable top).
inline void* record_room(const ContextState& c) noexcept { return static_cast<char*>(c.stack_base) + c.stack_size; }

bool stack_canary_intact(const void* stack_base) noexcept;
/// Writes the canary (done for every unguarded stack the pool hands out).
void stack_write_canary(void* stack_base) noexcept;

class StackPool {
public:
    StackPool();
    StackPool(const StackPool&) = delete;
    StackPool& operator=(const StackPool&) = delete;
    ~StackPool();

    /// Gives `c` a stack of at least `size` usable bytes (0: the default),
    /// with the record room above them.
    /// Throws std::system_error naming the limit when none can be mapped.
    void allocate(ContextState& c, std::size_t size);
    /// Takes the stack of a context that will never run again.
    void release(ContextState& c) noexcept;

    /// Stacks handed out and not yet released (tests check it returns to 0).
    std::size_t in_use() const noexcept { return in_use_; }

    /// Process-wide: stacks with a guard page right now, and the budget.
    static std::size_t guarded_count() noexcept;
    static std::size_t guard_budget() noexcept;

private:
    struct Slot {
        void* base;
        std::size_t size;
        bool guarded;
        void* tsan_fiber;  // TSan fiber handle, pooled with the stack (~4 ms to create)
        bool in_arena;     // carved from an arena (unmapped with it), else its own mapping
    };
    struct Arena {
        char* begin;
        std::size_t length;
    };
    /// A stack from an arena; `handover` says whether that arena can take a
    /// spare page (compact.hpp).
    Slot carve(std::size_t size, bool guard, bool& handover);
    struct FreeList {
        std::vector<Slot> slots;  // LIFO: back() is the hottest
        std::size_t cold = 0;     // slots[0, cold) already gave their memory back
    };
    /// The free list for `size`, through a one-entry cache: nearly every
    /// greenlet asks for the default size, and the map's nodes never move.
    FreeList& free_list(std::size_t size) {
        if (size != cached_size_ || !cached_list_) {
            cached_list_ = &free_[size];
            cached_size_ = size;
        }
        return *cached_list_;
    }
    std::size_t default_slot_;  // the whole size of a default stack (usable + record room, in pages)
    std::unordered_map<std::size_t, FreeList> free_;
    std::size_t cached_size_ = 0;
    FreeList* cached_list_ = nullptr;
    struct ArenaCursor {
        char* next = nullptr;  // where the next stack is carved
        char* end = nullptr;
        bool batched_guards = false;  // guards go in 256 strides at a time (below guarded_to: in place)
        char* guarded_to = nullptr;
        bool handover = false;  // registered as a target of the page hand-over
    };
    std::vector<Arena> arenas_;
    ArenaCursor default_arena_;  // guarded stacks of the default size (guards installed in batches)
    ArenaCursor other_arena_;    // every other size, and unguarded stacks
    std::size_t in_use_ = 0;
};

/// Fills `out` with one line naming the running greenlet if the fault at
/// `fault`, taken with stack pointer `sp` (null if unknown), is an overflow of
/// its stack; returns false otherwise. Set by the hub.
using OverflowDescriber = bool (*)(const void* fault, const void* sp, char* out, std::size_t out_size);

/// Installs (once per thread) an alternate signal stack and a SIGSEGV/SIGBUS
/// handler that prints `describer`'s line when a guard page is hit, then
/// aborts. Other faults go on to the previous handler (default: core dump).
void install_overflow_handler(OverflowDescriber describer);

}  // namespace grove::detail
