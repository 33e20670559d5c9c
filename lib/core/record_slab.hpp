// grove internal — where greenlet records are born, and how their memory goes
// back when they leave (lib/core/record_slab.cpp).
//
// A record lives in the slab until its greenlet first waits; then it moves to
// the top of the greenlet's own stack (greenlet_record.hpp), whose first page
// the greenlet touches anyway. A parked greenlet then costs its stack page and
// its object, and nothing else: the slab's chunks, emptied by the moves, are
// given back to the kernel when the hub goes idle.
#pragma once

#include "internal.hpp"

#include <cstddef>

namespace grove::detail {

/// Bytes of one slab slot (and the most a record may take).
inline constexpr std::size_t kRecordSlotBytes = 384;

/// Room for a record at a slab slot, or null where the slab is not used
/// (sanitizer builds, the thread's exit): the caller takes a heap block then.
/// Throws std::bad_alloc.
void* record_slab_allocate();
/// Frees a slot from record_slab_allocate(); any thread may free it.
/// `parked`: its record moved onto a parked greenlet's stack. That greenlet
/// needs no slot again until it dies, so a chunk emptied that way goes back
/// to the kernel at once (beyond a small reserve) rather than waiting for
/// the next burst of spawns.
void record_slab_free(void* slot, bool parked = false) noexcept;
/// The hub is about to block: chunks emptied beyond a small reserve go back
/// to the kernel (a busy hub keeps them for its next burst of spawns).
void record_slab_trim() noexcept;
/// Slab chunks mapped right now, process-wide (tests: -1 where there is no slab).
long record_slab_chunks() noexcept;

}  // namespace grove::detail
