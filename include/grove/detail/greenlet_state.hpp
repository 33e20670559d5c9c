// grove — the runtime's per-greenlet bookkeeping.
//
// Implementation detail: this lives in a public header only so that
// GreenletBase can hold it by value (spawn allocates once). Users never touch
// it; lib/ owns every field. Invariants are written on the fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grove/waiter.hpp>

namespace grove {
class GreenletBase;
class Hub;

namespace detail {

/// What travels with a switch (lib/core/context.cpp): saved only while suspended.
struct ContextState {
    void* fctx = nullptr;       // Boost.Context fcontext_t; null while running or before start
    void* eh_caught = nullptr;  // __cxa_eh_globals.caughtExceptions of this greenlet
    unsigned eh_uncaught = 0;   // __cxa_eh_globals.uncaughtExceptions of this greenlet
    int saved_errno = 0;
    void* stack_base = nullptr;       // lowest usable byte of the stack (the canary sits here)
    std::size_t stack_size = 0;       // usable bytes above stack_base
    bool stack_guarded = false;       // a guard page sits below stack_base
    bool stack_in_arena = false;      // carved from a StackPool arena
    void* asan_fake_stack = nullptr;  // ASan's fake-stack handle while suspended
    void* tsan_fiber = nullptr;       // TSan fiber handle (pooled with the stack)
    unsigned valgrind_id = 0;         // VALGRIND_STACK_REGISTER id
};

enum class Phase : std::uint8_t {
    New,        // constructed, start() not called
    Scheduled,  // start() called; the body has not begun (on the ready queue or a start_later timer)
    Running,    // the body has begun: running or suspended
    Dead,       // finished (returned, threw, or was killed)
};

enum class LinkKind : std::uint8_t { Any, Value, Exception };

struct Link {
    std::uint64_t id;
    LinkKind kind;
    std::function<void(GreenletBase&)> callback;
};

struct GreenletState {
    ContextState ctx;
    Hub* hub = nullptr;  // set at start(); the greenlet's thread's hub
    Phase phase = Phase::New;
    bool is_main = false;        // the thread's own stack
    bool is_hub = false;         // the hub's loop fiber
    bool in_ready = false;       // on hub's ready queue (ready_prev/next valid)
    bool notify_queued = false;  // on hub's death-notification queue
    bool reported = false;       // its unhandled error was reported
    bool in_live = false;        // on hub's live list
    GreenletBase* ready_prev = nullptr;
    GreenletBase* ready_next = nullptr;
    GreenletBase* live_prev = nullptr;  // hub's list of started, not yet dead greenlets
    GreenletBase* live_next = nullptr;
    Waiter* parked_on = nullptr;         // the Waiter it is suspended in, if any
    std::exception_ptr pending;          // kill/Timeout to throw when it next resumes
    std::uint64_t pending_serial = 0;    // the Timeout serial that set `pending` (0: a kill)
    std::exception_ptr error;            // what ended it (not GreenletExit)
    std::exception_ptr exit;             // the GreenletExit that ended it
    std::shared_ptr<void> trace;         // throw-site frames of `error` (lib/report)
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

}  // namespace detail
}  // namespace grove
