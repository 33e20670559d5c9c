// grove-hooks internal — what grove knows about each file descriptor.
//
// The kernel stays the source of truth: grove never leaves O_NONBLOCK flipped
// on a description (it uses MSG_DONTWAIT or poll-then-call), so the user's view
// of the flag *is* the description's flag. The table caches that view, the
// socket type and SO_RCVTIMEO/SO_SNDTIMEO per fd so a hooked call costs one
// fstat, not four syscalls (and a socket call that does not block costs none:
// fd_kind_hint). An entry is trusted only while
//   - its (st_dev, st_ino) still match the fd (an fd closed behind grove's
//     back, by fclose or in a library, and reused for another file is
//     re-read, never mistaken for the old one), and
//   - its generation is current: fcntl(F_SETFL), ioctl(FIONBIO) and the
//     timeout setsockopts bump a global generation, so dup()s sharing the
//     changed description re-read it too.
// Thread-safe (striped spinlocks); entries for fds up to 1M, in lazily mapped
// chunks; fds beyond that are simply re-read each time.
#pragma once

#include <cstdint>

namespace grove::hooks {

enum class FdKind : std::uint8_t {
    Bad,     // fstat failed (EBADF...): let the real call report it
    Other,   // regular file, directory, eventfd, /dev/null...: passed straight through
    Socket,  // MSG_DONTWAIT
    Pipe,    // pipe or FIFO: poll-then-call
    Tty,     // terminal: poll-then-call
};

struct FdInfo {
    FdKind kind = FdKind::Bad;
    bool nonblock = false;      // the user's (= the description's) O_NONBLOCK
    bool stream = false;        // SOCK_STREAM: a blocking send sends everything
    bool readable = true;       // opened for reading (O_ACCMODE is not O_WRONLY)
    bool writable = true;       // opened for writing (O_ACCMODE is not O_RDONLY)
    long long rcvtimeo_us = 0;  // SO_RCVTIMEO, 0 = none
    long long sndtimeo_us = 0;  // SO_SNDTIMEO, 0 = none
};

/// What the fd is now (one fstat; more syscalls only on a cache miss).
FdInfo fd_info(int fd) noexcept;

/// The kind the table last recorded for `fd`, read without any syscall: a
/// hint, not a fact (the fd may have been closed behind grove's back and
/// reused since). Fit only to choose a first attempt whose result does not
/// depend on it, such as a MSG_DONTWAIT recv that either returns data, which
/// the real call would have returned too, or fails with ENOTSOCK/EAGAIN and
/// sends the caller to fd_info(). Bad when nothing is recorded.
FdKind fd_kind_hint(int fd) noexcept;

/// Primes the entry of a freshly created fd whose details the creating call
/// told us (socket, socketpair, pipe, accept4): saves the lookups.
void fd_record(int fd, const FdInfo& info) noexcept;

/// A change to flags or timeouts that dups may share: every entry re-reads.
void fd_table_changed() noexcept;

/// Drops the entry of an fd being closed (or replaced by dup2/dup3).
void fd_forget(int fd) noexcept;

}  // namespace grove::hooks
