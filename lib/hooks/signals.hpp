// grove-hooks internal — signal handlers and cooperative waits (signal(7)).
//
// The kernel interrupts a thread's blocking call when a handler runs on that
// thread: the call fails with EINTR, or is restarted if the handler has
// SA_RESTART and the call is restartable. A cooperative wait is not a
// syscall, so grove reproduces this: sigaction(), signal() and siginterrupt()
// are hooked and install a trampoline in front of the user's handler that
// counts the handlers run on this thread (with or without SA_RESTART) and
// wakes the thread's hub (ev_async_send, async-signal-safe). The thread's
// *main greenlet* is the thread as the kernel sees it: a handled signal ends
// its cooperative wait, which then fails with EINTR or resumes. Other
// greenlets of the thread are never interrupted (a process-directed signal
// interrupts one thread's call, and grove picks the main greenlet's).
#pragma once

namespace grove::hooks {

/// True while a handler installed through the hooks runs on this thread:
/// hooked calls made by a handler are the plain calls, and close() does not
/// touch the hub (the handler may have interrupted it).
bool in_signal_handler() noexcept;

/// Puts the trampoline in front of every handler installed before the hooks
/// were switched on (grove-run's lazy mode loads them late: shim.cpp).
void wrap_installed_handlers() noexcept;

/// signal(7): whether an interrupted call is restarted under SA_RESTART.
enum class Restart {
    IfSaRestart,  // read, write, recv, send, accept, connect... on a socket without SO_*TIMEO
    Never,        // poll, select, nanosleep, clock_nanosleep, sockets with SO_RCVTIMEO/SO_SNDTIMEO
};

/// Thrown into the main greenlet's cooperative wait when a handler ran.
/// Caught by the hook that waits, never seen by user code.
struct SignalInterrupt {};

/// The scope of one cooperative wait. When the caller is its thread's main
/// greenlet, a handler that runs during the scope interrupts the grove wait
/// inside (it throws SignalInterrupt). Elsewhere it does nothing.
class InterruptibleWait {
public:
    InterruptibleWait() noexcept;
    ~InterruptibleWait();
    InterruptibleWait(const InterruptibleWait&) = delete;
    InterruptibleWait& operator=(const InterruptibleWait&) = delete;

    /// After catching SignalInterrupt: EINTR, or 0 when the call resumes
    /// (every handler that ran had SA_RESTART and `restart` allows it).
    int verdict(Restart restart) const noexcept;

    struct Slot;

private:
    Slot* slot_ = nullptr;
    unsigned handled_ = 0;
    unsigned unrestarted_ = 0;
};

}  // namespace grove::hooks
