// grove internal — the deadline-based fd wait under wait_read/wait_write and
// every Socket operation.
#pragma once

#include <optional>

#include <grove/duration.hpp>

#include "../core/loop.hpp"  // kFdRead, kFdWrite

namespace grove::detail {

/// Parks the current greenlet until `fd` is ready for `events` (kFdRead
/// and/or kFdWrite) or `deadline` passes. Returns true when ready, false when the
/// deadline passed. A deadline of Deadline::min() polls once without waiting.
/// Throws std::system_error(EBADF) naming `what` when notify_close(fd) (or
/// libev's own error on the fd) ends the wait; kill and grove::Timeout
/// interrupt it; std::logic_error from the hub. `owned`: the caller (a
/// Socket) closes `fd` only through notify_close, so its watcher may stay
/// registered between waits (see lib/core/loop.cpp).
bool wait_fd(int fd, int events, std::optional<Deadline> deadline, const char* what, bool owned = false);

/// Socket::recv's hint, kept per fd on this thread until notify_close: the
/// last recv came back short, so the next one waits for readiness first
/// instead of trying a read that most likely fails with EAGAIN. Only fds
/// that have waited before carry it.
bool fd_read_drained(int fd) noexcept;
void fd_note_read(int fd, bool drained) noexcept;

/// Socket::detach: grove no longer sees every close of `fd`; its watcher
/// goes back to being re-armed at each wait.
void fd_release(int fd) noexcept;

}  // namespace grove::detail
