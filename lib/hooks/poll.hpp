// grove-hooks internal — multi-fd waits (poll, ppoll, select) on libev watchers.
#pragma once

namespace grove::hooks {

/// Wakes the greenlets of this thread parked in a hooked poll/select on `fd`
/// (they re-poll and see POLLNVAL/EBADF). Call before `fd` is closed. Hub
/// thread only; never switches.
void wake_pollers(int fd) noexcept;

}  // namespace grove::hooks
