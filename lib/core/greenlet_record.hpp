// grove internal — a greenlet's runtime record: what the hub knows about it.
//
// GreenletBase holds only a pointer to it (its `record_`), so nothing here is
// part of grove's ABI. spawn() and make() place the record in the same block
// as the greenlet object and its Ref's control block (greenlet_alloc.cpp);
// a greenlet made any other way gets a record of its own from the same cache.
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
    bool co_allocated = false;           // lives in its greenlet's allocation block (not freed on its own)
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

/// The room greenlet_block_allocate_with_record (lib/core/greenlet_alloc.cpp)
/// just reserved after a greenlet's block, for the GreenletBase constructor
/// that runs next: std::allocate_shared constructs the object right after
/// allocating its block.
struct RecordRoom {
    std::uintptr_t block;
    std::uintptr_t record;
};
[[gnu::tls_model("initial-exec")]] extern constinit thread_local RecordRoom t_record_room;

/// Makes the record of a greenlet object under construction at `self`: the
/// room reserved in its block if `self` lies in that block, else a block of
/// its own (a greenlet made by std::make_shared, or a member object, must not
/// take the room an unrelated allocation left behind).
inline GreenletRecord* make_record(const void* self) {
    const RecordRoom room = t_record_room;
    t_record_room = {};
    const auto at = reinterpret_cast<std::uintptr_t>(self);
    if (at >= room.block && at < room.record) [[likely]] {  // never, once cleared: record is 0
        auto* r = new (reinterpret_cast<void*>(room.record)) GreenletRecord;
        r->co_allocated = true;
        return r;
    }
    return new (greenlet_block_allocate(sizeof(GreenletRecord))) GreenletRecord;
}

/// Destroys `r` and frees it unless it lives in its greenlet's block.
inline void destroy_record(GreenletRecord* r) noexcept {
    const bool co_allocated = r->co_allocated;
    r->~GreenletRecord();
    if (!co_allocated) greenlet_block_free(r, sizeof(GreenletRecord));
}

}  // namespace detail
}  // namespace grove
