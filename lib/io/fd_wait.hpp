// grove internal — the deadline-based fd wait under wait_read/wait_write and
// every Socket operation.
#pragma once

#include <optional>

#include <grove/duration.hpp>

namespace grove::detail {

/// Parks the current greenlet until `fd` is ready for `events` (EV_READ or
/// EV_WRITE) or `deadline` passes. Returns true when ready, false when the
/// deadline passed. A deadline of Deadline::min() polls once without waiting.
/// Throws std::system_error(EBADF) naming `what` when notify_close(fd) (or
/// libev's own error on the fd) ends the wait; kill and grove::Timeout
/// interrupt it; std::logic_error from the hub.
bool wait_fd(int fd, int events, std::optional<Deadline> deadline, const char* what);

}  // namespace grove::detail
