// grove internal — the runtime's side of grove::local (<grove/local.hpp>).
//
// A greenlet's local values hang off one pointer of its state
// (GreenletRecord::locals, null until its first grove::local access); the
// runtime calls destroy_locals() for a greenlet when it dies, and for the
// main and hub greenlets when the hub is destroyed.
#pragma once

#include "internal.hpp"

namespace grove {
class GreenletBase;
}

namespace grove::detail {

/// Destroys every grove::local value of `g` (its GreenletRecord::locals) and
/// frees its table; the slot is null afterwards. Values made by those
/// destructors (a destructor touching another local) are destroyed too. Call
/// it on the greenlet's own thread, while it is still the current greenlet
/// of its hub (so such late accesses land in its slot again). The slot is
/// read afresh each round: a destructor that blocks may move the record.
void destroy_locals(GreenletBase& g) noexcept;

}  // namespace grove::detail
