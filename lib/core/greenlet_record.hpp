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
#include <string>
#include <vector>

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
    Running,    // the hub's current greenlet, on no queue
    Parked,     // begun and suspended, on no queue (waiting in parked_on's list, on a timer...)
    Dead,       // finished; on no list
    Notifying,  // finished, on the hub's notification queue (report or links still to run)
};

/// On the hub's ready queue.
inline bool on_ready_queue(GreenletState s) noexcept {
    return s == GreenletState::Scheduled || s == GreenletState::Ready;
}
/// Set going (start() called), its body not begun yet.
inline bool not_begun(GreenletState s) noexcept {
    return s == GreenletState::Delayed || s == GreenletState::Scheduled;
}
/// Its body has begun and it has not finished: it has a stack and a context.
inline bool begun_alive(GreenletState s) noexcept {
    return s >= GreenletState::Ready && s <= GreenletState::Parked;
}
/// Started and not dead: on the hub's live list (the main and hub greenlets never are).
inline bool started_alive(GreenletState s) noexcept {
    return s >= GreenletState::Delayed && s <= GreenletState::Parked;
}
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
    bool is_main = false;         // the thread's own stack
    bool is_hub = false;          // the hub's loop fiber
    bool reported = false;        // its unhandled error was reported
    bool co_allocated = false;    // lives in its greenlet's allocation block (not freed on its own)
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
    std::uint64_t ident = 0;         // minimal_ident, assigned on first use
    std::uint64_t parent_ident = 0;  // minimal_ident of the spawner (run-info tree)
    std::size_t stack_request = 0;   // 0: the configured default
    std::uint64_t switches = 0;      // times it was switched into
    std::uint64_t run_ns = 0;        // time spent running (only when its hub measures timing)
    std::int64_t spawned_at_ns = 0;  // steady clock at start() (only when timing; else 0)
    TimerSlot start_timer;           // start_later's timer
    void* locals = nullptr;          // its grove::local values (lib/core/local_storage.cpp); null until first use
};

/// Makes the record of a greenlet object under construction at `self`: the
/// room spawn()/make() reserved in its block if `self` lies in that block,
/// else a block of its own.
GreenletRecord* make_record(const void* self);
/// Destroys `r` and frees it unless it lives in its greenlet's block.
void destroy_record(GreenletRecord* r) noexcept;

}  // namespace detail
}  // namespace grove
