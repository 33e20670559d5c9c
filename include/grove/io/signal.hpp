// grove — SignalHandler: POSIX signals delivered as greenlets (gevent.signal_handler).
#pragma once

#include <functional>
#include <memory>

#include <grove/hub.hpp>

namespace grove {

/// A handler installed by grove::signal_handler(signum, f) (declared in
/// <grove/hub.hpp>): each time `signum` arrives, `f` runs in a NEW greenlet
/// of the installing thread's hub — never inside the signal context, so `f`
/// may block, spawn and use sockets. Bursts may coalesce into one run, as
/// with any POSIX signal. An error escaping `f` is reported like any
/// greenlet's.
///
/// The libev watcher is unreferenced: an installed handler does not keep the
/// hub alive (a thread waiting only for a signal must hold a Hub::KeepAlive).
/// libev lets one loop watch a given signal at a time: install a signal on one
/// hub only. Create and destroy the handle on the installing thread;
/// destroying it stops the watcher (the signal's disposition is restored to
/// SIG_DFL when no watcher is left) — a greenlet already spawned still runs.
class SignalHandler {
public:
    /// Installs the watcher for `signum` on the calling thread's hub: each delivery
    /// spawns `f` in a new greenlet (see the class comment). Never switches.
    SignalHandler(int signum, std::function<void()> f);
    ~SignalHandler();
    SignalHandler(const SignalHandler&) = delete;
    SignalHandler& operator=(const SignalHandler&) = delete;

    /// The signal it watches.
    int signum() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace grove
