// grove internal — a greenlet's runtime record: what the hub knows about it.
//
// GreenletBase holds only a pointer to it (its `record_`), so nothing here is
// part of grove's ABI, and the record can move. It is born in the per-thread
// record slab (record_slab.hpp); at its greenlet's first wait (in
// Waiter::wait_until, before it parks) it moves into the room at the top of
// the greenlet's own stack, and at death it moves back to the slab, before
// the stack goes. So a parked greenlet costs its stack's first page, its
// object and nothing else. A greenlet that never waits (a batch job, one that
// only yields) never moves; a compact one (compact.hpp) never does either.
//
// The rule that makes the move safe: only the running greenlet's own record
// moves, at those two points, and everything that names a greenlet across a
// switch holds its GreenletBase*, never a reference into its record. Code
// that takes `Runtime::record(g)` keeps the reference only until it calls
// something that may wait (a grove::local destructor, a user callback).
#pragma once

#include "internal.hpp"

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <grove/detail/greenlet_alloc.hpp>
#include <grove/waiter.hpp>

#include "context.hpp"
#include "interrupts.hpp"
#include "record_slab.hpp"

namespace grove {
class GreenletBase;
class Hub;

namespace detail {

/// Where a greenlet is. Each value names the one hub list it is on, so the
/// state cannot disagree with the lists. Ordered: the predicates below are
/// range checks.
enum class GreenletState : std::uint8_t {
    New,        // start() not called; on no list
    Delayed,    // started by start_later, waiting on its start timer; not begun (no stack yet)
    Scheduled,  // started, on the ready queue; not begun (no stack yet)
    Ready,      // begun, on the ready queue
    Begun,      // begun, on no queue: the hub's current greenlet, or suspended until something
                // schedules it (waiting in parked_on's list, on a timer...)
    Dead,       // finished; on no list
    Notifying,  // finished, on the hub's notification queue (report or links still to run)
};

/// On the hub's ready queue.
inline bool on_ready_queue(GreenletState s) noexcept {
    return s == GreenletState::Scheduled || s == GreenletState::Ready;
}
/// Set going (start() called), its body not begun yet.
inline bool not_begun(GreenletState s) noexcept { return s == GreenletState::Delayed || s == GreenletState::Scheduled; }
/// Its body has begun and it has not finished: it has a stack and a context.
inline bool begun_alive(GreenletState s) noexcept { return s == GreenletState::Ready || s == GreenletState::Begun; }
/// Started and not dead: on the hub's live list (the main and hub greenlets never are).
inline bool started_alive(GreenletState s) noexcept { return s >= GreenletState::Delayed && s <= GreenletState::Begun; }
inline bool is_dead(GreenletState s) noexcept { return s >= GreenletState::Dead; }

/// Where a record lives (see the top of this file).
enum class RecordHome : std::uint8_t {
    Slab,   // a slot of the record slab
    Heap,   // a block of its own (sanitizer builds; the slab unavailable)
    Stack,  // the record room at the top of its greenlet's stack
};

enum class LinkKind : std::uint8_t { Any, Value, Exception };

struct Link {
    std::uint64_t id;
    LinkKind kind;
    std::function<void(GreenletBase&)> callback;
};

struct GreenletRecord {
    ContextState ctx;
    Hub* hub = nullptr;  // set at start(); the greenlet's thread's hub
    GreenletState state = GreenletState::New;
    bool is_main = false;                // the thread's own stack
    bool is_hub = false;                 // the hub's loop fiber
    bool reported = false;               // its unhandled error was reported
    RecordHome home = RecordHome::Slab;  // where this record lives
    bool moves_at_first_wait = false;    // set when its stack is given: moves there at its first wait
    bool compact_chosen = false;         // SpawnOptions::compact was given (ctx.compact holds it)
    GreenletBase* ready_prev = nullptr;  // valid while on_ready_queue(state)
    GreenletBase* ready_next = nullptr;
    GreenletBase* live_prev = nullptr;  // hub's list of started, not yet dead greenlets
    GreenletBase* live_next = nullptr;
    Waiter* parked_on = nullptr;         // the Waiter it is suspended in, if any
    PendingInterrupts interrupts;        // kill/Timeout/signal to throw when it next resumes
    std::exception_ptr error;            // what ended it (not GreenletExit)
    std::exception_ptr exit;             // the GreenletExit that ended it
    std::shared_ptr<void> trace;         // throw-site frames of `error` (lib/core/report.cpp)
    std::shared_ptr<GreenletBase> self;  // keeps it alive from start() to death
    std::vector<Link> links;
    std::uint64_t next_link_id = 1;
    std::string name;
    std::uint64_t ident = 0;                 // minimal_ident, assigned on first use
    std::uint64_t parent_ident = 0;          // minimal_ident of the spawner (run-info tree)
    std::size_t stack_request = 0;           // 0: the configured default
    std::uint64_t switches = 0;              // times it was switched into
    std::uint64_t run_ns = 0;                // time spent running (only when its hub measures timing)
    std::int64_t spawned_at_ns = 0;          // steady clock at start() (only when timing; else 0)
    std::unique_ptr<TimerSlot> start_timer;  // start_later's timer (made by start_later: valid while Delayed)
    void* locals = nullptr;  // its grove::local values (lib/core/local_storage.cpp); null until first use
};

/// Makes a greenlet's record, in the slab (or a heap block where there is none).
inline GreenletRecord* make_record() {
    if (void* slot = record_slab_allocate()) [[likely]]
        return new (slot) GreenletRecord;
    auto* r = new GreenletRecord;
    r->home = RecordHome::Heap;
    return r;
}

/// Frees the memory of a destroyed record that lived at `home` (a record on a
/// stack goes with the stack). `parked`: it moved onto its greenlet's stack.
inline void free_record_memory(void* r, RecordHome home, bool parked = false) noexcept {
    if (home == RecordHome::Slab)
        record_slab_free(r, parked);
    else if (home == RecordHome::Heap)
        ::operator delete(r);
}

/// Destroys `r` and frees its memory.
inline void destroy_record(GreenletRecord* r) noexcept {
    const RecordHome home = r->home;
    r->~GreenletRecord();
    free_record_memory(r, home);
}

}  // namespace detail
}  // namespace grove
