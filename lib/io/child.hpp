// grove internal — waiting for a child process cooperatively, and reaping
// children nobody waits for any more. Shared by grove::subprocess and the
// wait/system/popen hooks (lib/hooks/process.cpp).
#pragma once

#include <sys/types.h>

#include <optional>

#include <grove/duration.hpp>

namespace grove::detail {

/// Parks the current greenlet until process `pid` has exited (its status is
/// then waitable), or until `deadline`; returns false at the deadline. Never
/// reaps: the caller's waitpid(WNOHANG) reads the exact status afterwards,
/// so a child that someone else reaps in between only makes that call fail
/// with ECHILD, never hang. Waits on a pidfd (pidfd_open, Linux 5.3+) with
/// the hub's fd wait; where pidfd_open fails with ENOSYS it sleeps a few
/// milliseconds instead and returns true ("look again"). Throws as
/// grove::wait_read does (kill, grove::Timeout; std::logic_error from the hub).
bool wait_exited(pid_t pid, std::optional<Deadline> deadline);

/// Opens a pidfd for `pid` (O_CLOEXEC); -1 with errno on failure.
int open_pidfd(pid_t pid) noexcept;

/// Hands `pid` (a child of this process) to grove's reaper thread, which
/// reaps it once it exits, so a child whose owner gave up waiting (a killed
/// greenlet, a destroyed Popen) never stays a zombie. The thread starts on
/// first use and sleeps in poll() on the pidfds. Never blocks for long.
void reap_later(pid_t pid) noexcept;

}  // namespace grove::detail
