// grove internal — naming what a parked greenlet waits on (lib/wait_object.cpp):
// for LoopExit's text and the run info.
#pragma once

#include "internal.hpp"

#include <string>

namespace grove {
class Waiter;
}

namespace grove::detail {

/// The Waiter object of an fd wait: the fd and direction (EV_READ/EV_WRITE)
/// packed into a tagged value that is never a valid address (bit 63 set).
const void* fd_wait_object(int fd, int events) noexcept;
/// "sleep", "Event 0x5612...", "wait_read fd 5 (read)".
std::string describe_wait(const Waiter& waiter);

}  // namespace grove::detail
