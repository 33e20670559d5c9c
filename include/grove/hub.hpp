// grove — the Hub: one per OS thread, owner of the libev loop and of the
// thread's greenlets.
//
// The hub is created on first use by any blocking call or spawn. The thread's
// own stack is its main greenlet: a blocking call in plain main() switches to
// the hub, which runs other greenlets and the loop until main can continue.
// There is no run() to call.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include <grove/duration.hpp>

struct ev_loop;

namespace grove {

class GreenletBase;
namespace detail {
class HubImpl;
}

/// The per-thread hub: owns the thread's libev loop, timers and ready queue, and runs
/// the greenlets of its thread (see the file comment). Created on first use by any
/// blocking call or spawn (grove::get_hub()); never constructed by user code. Use it
/// from its own thread, except Remote.
class Hub {
public:
    Hub(const Hub&) = delete;
    Hub& operator=(const Hub&) = delete;

    /// The libev loop: an escape hatch for custom watchers, and the only
    /// libev name in grove's public headers (declared, never defined here:
    /// include <ev.h> to use it). Watcher callbacks run on the hub: they must
    /// not block; wake greenlets with Waiter::wake().
    struct ev_loop* loop() const noexcept;

    /// Runs the hub until nothing is left to do (no live greenlet, timer or
    /// watcher keeps it busy) or `timeout` passes; returns true when it ran
    /// dry. Called from the thread's main greenlet (or any greenlet but the hub).
    bool join(std::optional<Duration> timeout = {});

    /// Unwinds every greenlet of this thread that is still alive (each gets
    /// GreenletExit at its blocking point, so every destructor on its stack
    /// runs; one that swallows it is retried, then reported by name), then
    /// frees the loop. The next grove call on this thread makes a new hub.
    /// Runs by itself when the thread exits. Call from the main greenlet.
    void destroy();

    /// Greenlets started on this hub and not yet dead.
    std::size_t live_count() const noexcept;

    /// Whether greenlets started on this hub from now on are compact when their
    /// SpawnOptions do not say (see SpawnOptions::compact). Off by default
    /// (on with GROVE_COMPACT=1).
    void set_compact_default(bool on) noexcept;
    /// What set_compact_default() last set (or GROVE_COMPACT).
    bool compact_default() const noexcept;

    /// Queues `fn` to run on the hub at its next turn (same thread; never
    /// switches). `fn` must not block; if it throws, the error is reported.
    void run_callback(std::function<void()> fn);

    /// A thread-safe handle to post work to this hub from other OS threads.
    class Remote {
    public:
        /// Runs `fn` on the hub's thread at its next turn, waking its loop
        /// through libev's async watcher. Safe from any thread. Returns false
        /// (and drops fn) if the hub has been destroyed.
        bool post(std::function<void()> fn);

    protected:
        Remote() = default;  // made by the hub only (its state is private)
        ~Remote() = default;
    };
    /// Shared with posters; outlives the hub safely.
    std::shared_ptr<Remote> remote() const noexcept { return remote_; }

    /// While one exists, the hub counts as busy: a wait that only another
    /// thread can end (ThreadPool work, a cross-thread AsyncResult) does not
    /// raise LoopExit. Create and destroy on the hub's thread.
    class KeepAlive {
    public:
        KeepAlive();
        ~KeepAlive();
        KeepAlive(const KeepAlive&) = delete;
        KeepAlive& operator=(const KeepAlive&) = delete;

    private:
        Hub* hub_;
    };

protected:
    Hub();
    virtual ~Hub();
    /// The handle remote() returns (kept for the hub's lifetime and beyond by its
    /// posters).
    std::shared_ptr<Remote> remote_;
};

/// This thread's hub, created on first use.
Hub& get_hub();

/// This thread's hub if it exists, else nullptr (never creates one).
Hub* get_hub_if_exists() noexcept;

/// After fork(), in the child: makes this thread's hub usable again (libev's
/// ev_loop_fork). Greenlets suspended at fork time stay suspended.
void reinit();

/// Runs `f` in a new greenlet each time signal `signum` arrives (libev
/// signal watcher; the handler never runs inside the signal context).
/// Returns a handle; the handler is removed when the handle is destroyed.
class SignalHandler;
std::unique_ptr<SignalHandler> signal_handler(int signum, std::function<void()> f);

}  // namespace grove
