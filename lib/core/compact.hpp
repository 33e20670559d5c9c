// grove internal — compact greenlets: a parked greenlet's stack, copied out.
//
// A compact greenlet (SpawnOptions::compact, Hub::set_compact_default) keeps
// its own stack address range, so every pointer its frames hold stays valid
// across a park. What it gives up while parked is the memory: when it
// switches away in a wait (not a yield), it is queued; when the queue is
// full or the hub is about to block, the used part of each queued stack,
// [saved stack pointer, top), is copied into a heap block of that size and
// the stack's pages go back to the kernel (one batched MADV_DONTNEED). The
// switch back into it copies the bytes home first; the pages fault back in.
// One resumed while still queued was never copied and costs almost nothing.
// The top page of each stack copied out is kept for a while and moved to the
// next fresh compact stack instead of being faulted anew (the page hand-over,
// compact.cpp; docs/design.md has its rules).
//
// The rule that makes that sound: while it is copied out nothing may read or
// write its stack. grove's own wait objects are what other greenlets and the
// hub reach into a parked stack through (a Waiter, a WaitNode on a list, a
// WaitList others are linked into, a Timeout the hub will fire), so each of
// them "pins" the compact greenlet whose stack it lies on, from construction
// to destruction: a pinned greenlet is never copied out, it simply costs what
// a default greenlet costs while pinned. The waits built to be compact
// (grove::sleep) keep their Waiter on the heap instead. A user's own pointer
// into a parked compact stack is the one thing grove cannot see: under
// AddressSanitizer the copied-out range is poisoned, so such an access is
// reported; elsewhere it reads zeros and its writes are lost.
#pragma once

#include "internal.hpp"

#include <grove/waiter.hpp>

#include "context.hpp"

namespace grove::detail {

/// Whether `p` lies on `c`'s stack.
inline bool on_stack(const ContextState& c, const void* p) noexcept {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    const auto base = reinterpret_cast<std::uintptr_t>(c.stack_base);
    return at - base < c.stack_size;
}

// t_compact_started (<grove/waiter.hpp>): until a compact greenlet is started
// on this thread no stack here can be compact, so pinning is one load and a
// branch. (A greenlet is compact or not from start(), before anything runs on
// its stack, so an object made while it was false is never on a compact stack.)

/// Counts `obj` (+1 at construction, -1 at destruction) as a pin of the
/// running greenlet if that greenlet is compact and `obj` lies on its stack.
/// Objects on a stack are made and destroyed by the greenlet owning it, so
/// both calls see the same greenlet.
void compact_pin_slow(const void* obj, int delta) noexcept;
inline void compact_pin(const void* obj, int delta) noexcept {
    if (t_compact_started) [[unlikely]]
        compact_pin_slow(obj, delta);
}
/// Same, when the caller already knows the running greenlet's context.
inline void compact_pin(ContextState& running, const void* obj, int delta) noexcept {
    if (running.compact && on_stack(running, obj)) [[unlikely]]
        running.pins += static_cast<std::uint32_t>(delta);
}

/// Parked compact greenlets copied out together (one batched page release),
/// and the most top pages kept for the page hand-over.
inline constexpr std::size_t kCompactBatch = 64;

/// The arriving side of a switch away from `c` (suspended, `c.fctx` set,
/// `c.copy_out` set by the switch): queues it to be copied out with the next
/// batch (compact.cpp), which also gives its pages back.
void compact_park(ContextState& c) noexcept;
/// Before switching into `c` (copied out, or queued): puts its stack bytes
/// back, or takes it off the queue (then its stack never moved).
void compact_copy_in(ContextState& c) noexcept;
/// `c` will never run again (its stack is being released): drops its copy.
void compact_discard(ContextState& c) noexcept;
/// Copies out every queued greenlet and gives their pages back; the hub calls
/// it before it blocks.
void compact_flush() noexcept;
/// Registers a fresh stack arena as a target of the page hand-over
/// (compact.cpp): true if fresh stacks carved from it may take a copied-out
/// stack's top page instead of faulting a new one.
bool compact_register_arena(void* begin, std::size_t length) noexcept;
/// Before a fresh compact stack's first use: moves a spare page (the top page
/// of a stack copied out since, if any) to `page`, its top page, unmapped so far.
void compact_take_spare_page(void* page) noexcept;
/// Whether this process can hand pages over (Linux 6.8+ userfaultfd moves,
/// not refused by a filter, not under valgrind).
bool compact_page_handover_supported() noexcept;
/// Copies made and copied home on this thread so far (tests and benchmarks).
struct CompactCounts {
    std::uint64_t copied_out = 0;
    std::uint64_t copied_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t pages_handed_over = 0;  // fresh stacks that took a spare page instead of faulting one
};
CompactCounts compact_counts() noexcept;

}  // namespace grove::detail
