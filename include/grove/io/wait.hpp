// grove — waiting for file descriptors cooperatively.
#pragma once

#include <optional>

#include <grove/duration.hpp>

namespace grove {

/// Blocks the current greenlet until `fd` is readable (wait_read) or
/// writable (wait_write), or `timeout` passes. May switch.
///
/// Throws TimeoutError when the timeout passes; std::system_error(EBADF) when
/// the fd is closed through grove (Socket::close, a hooked close(), or
/// notify_close()) while waiting — never a hang, never a wake-up delivered to
/// whoever reuses the fd number later. Kill and grove::Timeout interrupt it.
/// std::invalid_argument for a negative fd; std::logic_error from the hub.
void wait_read(int fd, std::optional<Duration> timeout = {});
void wait_write(int fd, std::optional<Duration> timeout = {});

/// Wakes every greenlet of this thread waiting on `fd` with EBADF and stops
/// their watchers. Call it *before* closing an fd that others may wait on
/// (Socket::close and the hooked close() do). Never switches.
void notify_close(int fd) noexcept;

}  // namespace grove
