// grove-hooks internal — FILE* streams whose I/O goes through the hooked
// read()/write(), so fgets/fread/fprintf/fflush on a pipe, socket or tty
// cooperate like the plain calls do (stdio calls libc's internal read, which
// no hook reaches).
#pragma once

#include <cstdio>

namespace grove::hooks {

/// A FILE* over `fd` (fopencookie) for `mode` ("r", "w", "a", with '+'), or
/// nullptr with errno. fileno() returns `fd`; fclose() closes it. Buffering
/// as glibc picks it for the fd: line-buffered on a tty, else fully buffered.
/// The stream never seeks (ESPIPE), like a plain FILE* on a pipe.
FILE* cooperative_file(int fd, const char* mode) noexcept;

}  // namespace grove::hooks
