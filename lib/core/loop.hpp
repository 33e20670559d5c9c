// grove internal — the hub's event loop: the one owner of libev.
//
// Every libev call grove makes is in lib/core/loop.cpp, the only file that
// includes ev.h. Its clients: the hub (running the loop, the wake-up timer of
// the timer heap, the cross-thread inbox), the fd waits under wait_read,
// wait_write and every Socket (io/wait.cpp), signal handlers (io/signal.cpp),
// ThreadPool and Hub::KeepAlive (hold/release), the hooks' poll and select.
//
// Keep-alive accounting: libev counts the active watchers that are
// "referenced", and a run of the loop returns that count; the hub raises
// LoopExit (or lets Hub::join return) when it is zero and nobody is ready. Each
// kind of watcher states here, once, whether it keeps the loop alive:
//  - the wake-up timer and the async inbox: never (the timer heap holds the
//    loop itself, once, while any referenced HubTimer is armed);
//  - signal handlers: never;
//  - an fd wait: while some greenlet waits on the fd (an idle watcher kept
//    registered for a Socket is unreferenced);
//  - the hooks' poll/select watchers: while they exist;
//  - hold()/release(): ThreadPool work, KeepAlive, the timer heap (one hold
//    while it has a referenced timer armed, however many).
#pragma once

#include <cstddef>

#include "internal.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <grove/waiter.hpp>

struct ev_loop;

namespace grove::detail {

/// The readiness an fd wait asks for (the values of libev's EV_READ and
/// EV_WRITE; loop.cpp checks).
inline constexpr int kFdRead = 0x01;
inline constexpr int kFdWrite = 0x02;

struct FdTable;
struct FdEntry;

class Loop {
public:
    using Callback = void (*)(void* data) noexcept;

    /// `on_wakeup` runs when the wake-up timer fires, `on_post` when the
    /// inbox has work; both on the hub, with `data`. Throws
    /// std::runtime_error if libev cannot create a loop.
    Loop(Callback on_wakeup, Callback on_post, void* data);
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    /// The libev loop, for Hub::loop()'s escape hatch only.
    struct ev_loop* raw() const noexcept {
        return loop_;
    }

    /// Runs every watcher that is ready now, without blocking. Returns how
    /// many active watchers keep the loop alive.
    int poll_nowait() noexcept;
    /// Blocks until at least one watcher fires (returns at once when none
    /// keeps the loop alive). Returns the same count as poll_nowait().
    int block_once() noexcept;

    /// Something outside the watchers keeps the loop alive until the
    /// matching release(): ThreadPool work, Hub::KeepAlive, the timer heap
    /// (one hold while any referenced timer is armed). Hub's thread only.
    void hold() noexcept;
    void release() noexcept;

    /// The wake-up timer: one libev timer for the hub's whole timer heap.
    /// (Re)arms it to fire `after_s` seconds from now (<= 0: at once).
    void arm_wakeup(double after_s) noexcept;
    void stop_wakeup() noexcept;
    bool wakeup_armed() const noexcept { return wakeup_armed_; }

    /// Any thread: queues `fn` and wakes the loop; `on_post` then moves the
    /// inbox out with take_posted().
    void post(std::function<void()> fn);
    std::vector<std::function<void()>> take_posted();

    /// After fork(), in the child.
    void after_fork() noexcept;

    /// Readiness events for every watcher of `fd` (hooks: a close wakes the
    /// pollers of its fd).
    void feed_fd(int fd, int events) noexcept;

    // The per-fd table under the fd waits (see loop.cpp for its invariants).
    /// True when `fd` is known open: a Socket owns it or a watcher is active on it.
    bool fd_vouched(int fd) const noexcept;
    /// Socket::recv's hint (see io/fd_wait.hpp).
    bool fd_read_drained(int fd) const noexcept;
    void fd_note_read(int fd, bool drained) noexcept;
    /// Socket::detach: re-armed at each wait from now on.
    void fd_release(int fd) noexcept;
    /// notify_close: stops the watcher and wakes every wait on `fd` with EBADF.
    void fd_close(int fd) noexcept;

private:
    friend class FdWait;
    friend class PollWatch;
    friend class SignalWatch;
    friend class AsyncWatch;
    struct Watchers;  // libev's structs (loop.cpp)

    struct ev_loop* loop_ = nullptr;
    std::unique_ptr<Watchers> watchers_;
    std::unique_ptr<FdTable> fds_;
    bool wakeup_armed_ = false;
    std::mutex inbox_mutex_;
    std::vector<std::function<void()>> inbox_;
};

/// One greenlet's wait for readiness of one fd, on the waiting greenlet's
/// stack after its Waiter. `owned`: the caller (a Socket) closes the fd only
/// through notify_close, so its watcher may stay registered between waits.
class FdWait final : public WaitNode {
public:
    FdWait(Waiter& waiter, Loop& loop, int fd, int events, bool owned);
    ~FdWait() override;
    FdWait(const FdWait&) = delete;
    FdWait& operator=(const FdWait&) = delete;

    /// True when notify_close (or libev's error on the fd) ended the wait.
    bool closed() const noexcept { return closed_; }
    int events() const noexcept { return events_; }

private:
    friend class Loop;
    friend struct FdTable;
    friend struct FdEntry;
    /// Already unlinked from the entry's list: wake, with EBADF if `closed`.
    void finish(bool closed) noexcept;
    void count(int d) noexcept;
    void arm(bool rearm) noexcept;

    FdTable* table_;
    FdEntry* entry_;
    int events_;
    bool closed_ = false;
};

/// The hooks' poll/select: one watcher per fd, each waking `waiter` when
/// its fd is ready; they keep the loop alive and all stop on destruction.
class PollWatch {
public:
    PollWatch(Loop& loop, Waiter& waiter, std::size_t capacity);
    ~PollWatch();
    PollWatch(const PollWatch&) = delete;
    PollWatch& operator=(const PollWatch&) = delete;
    /// Starts one more watcher (at most `capacity`).
    void add(int fd, int events) noexcept;

private:
    struct Io;
    Loop& loop_;
    Waiter& waiter_;
    std::unique_ptr<Io[]> ios_;
    std::size_t started_ = 0;
};

/// A signal watcher on the loop; never keeps it alive. `fired(data)` runs
/// on the hub (never inside the signal context).
class SignalWatch {
public:
    SignalWatch(Loop& loop, int signum, Loop::Callback fired, void* data);
    ~SignalWatch();
    SignalWatch(const SignalWatch&) = delete;
    SignalWatch& operator=(const SignalWatch&) = delete;
    int signum() const noexcept { return signum_; }

private:
    struct Impl;
    Loop& loop_;
    int signum_;
    std::unique_ptr<Impl> impl_;
};

/// An async wake-up of the loop; never keeps it alive. `send()` is
/// async-signal-safe and thread-safe (libev's ev_async_send); `fired(data)`
/// runs on the hub after a send. Held inline (no allocation), because the
/// hooks arm one around every interruptible wait of a main greenlet.
class AsyncWatch {
public:
    AsyncWatch(Loop& loop, Loop::Callback fired, void* data);
    ~AsyncWatch();
    AsyncWatch(const AsyncWatch&) = delete;
    AsyncWatch& operator=(const AsyncWatch&) = delete;

    void send() noexcept;

private:
    Loop& loop_;
    Loop::Callback fired_;
    void* data_;
    alignas(std::max_align_t) unsigned char watcher_[64];  // an ev_async (loop.cpp checks the size)
};

}  // namespace grove::detail
