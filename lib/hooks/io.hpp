// grove-hooks internal — the retry loops every cooperative I/O hook is made of.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>
#include <optional>
#include <vector>

#include <grove/duration.hpp>

#include "fdtable.hpp"
#include "state.hpp"

namespace grove::hooks {

/// How a hooked call on `fd` runs. Real: the real call (not patched, no hub,
/// on the hub, a regular file...). Cooperate: the user believes the fd
/// blocking and it is a socket, pipe or tty. A user-non-blocking fd is Real:
/// its description really is O_NONBLOCK, so the real call returns EAGAIN.
struct Plan {
    bool cooperate = false;
    FdInfo info;
};
Plan plan_for(int fd) noexcept;
/// plan_for() for a read or a write: the real call (at once: EBADF) when the
/// fd's access mode rules the direction out, e.g. write() on a pipe's read end.
Plan plan_for(int fd, Dir dir) noexcept;

/// A zero-timeout poll: is `fd` ready for `dir` now (or in error/hang-up,
/// which the real call will then report)? Never switches.
bool ready_now(int fd, Dir dir) noexcept;

/// Runs `attempt()` — one non-blocking try that returns a count or -1/errno —
/// until it returns anything but EAGAIN/EWOULDBLOCK, waiting for `dir` in
/// between (and first, when `wait_first`: a try just said EAGAIN). After
/// `deadline`: -1/EAGAIN. Interrupted: -1/interrupted()'s errno.
template <class Attempt>
auto retry(int fd, Dir dir, std::optional<Deadline> deadline, Attempt&& attempt, bool wait_first = false)
    -> decltype(attempt()) {
    if (wait_first) {
        if (const int err = wait_fd(fd, dir, deadline)) return fail(err);
    }
    for (;;) {
        auto r = attempt();
        if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return r;
        if (const int err = wait_fd(fd, dir, deadline)) return fail(err);
    }
}

/// A blocking stream write: calls `attempt(done)` (one non-blocking write of
/// the bytes from offset `done` on) until all `total` bytes are out. On an
/// error, a timeout or an interruption after some bytes went out, returns
/// that partial count, as the kernel does; before any, -1/errno. `done`
/// bytes went out already, and `wait_first` says the last try found no room.
template <class Attempt>
ssize_t write_all(int fd, std::size_t total, std::optional<Deadline> deadline, Attempt&& attempt, std::size_t done = 0,
                  bool wait_first = false) {
    if (wait_first) {
        if (const int err = wait_fd(fd, Dir::Write, deadline)) return done ? static_cast<ssize_t>(done) : fail(err);
    }
    do {
        const ssize_t r = attempt(done);
        if (r >= 0) {
            done += static_cast<std::size_t>(r);
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) return done ? static_cast<ssize_t>(done) : -1;
        if (const int err = wait_fd(fd, Dir::Write, deadline)) {
            return done ? static_cast<ssize_t>(done) : fail(err);
        }
    } while (done < total);
    return static_cast<ssize_t>(done);
}

/// try_socket_first()'s results besides the call's own (a count, or -1/errno).
constexpr ssize_t kUntried = -2;     // not known as a socket: the full path decides
constexpr ssize_t kWouldBlock = -3;  // the try said EAGAIN: the full path may wait at once

/// The fast path of the socket I/O hooks. When the fd table last saw `fd` as
/// a socket, makes `attempt()` — the call with MSG_DONTWAIT — before anything
/// else is looked up, so that a socket with data ready (or room to write)
/// costs what the plain call costs: that one syscall, no fstat. Its result is
/// final when it is a count or an error the real call would report as well;
/// EAGAIN gives kWouldBlock and ENOTSOCK (a stale hint: the fd number was
/// reused) kUntried, both with errno as it was on entry. Whether the user's
/// fd is blocking does not matter for a call that did not block, so only the
/// slow path (after kWouldBlock, or a partial write) asks fd_info().
template <class Attempt>
ssize_t try_socket_first(int fd, Attempt&& attempt) {
    if (fd_kind_hint(fd) != FdKind::Socket) return kUntried;
    const int saved = errno;
    const ssize_t r = attempt();
    if (r >= 0) return r;
    const int err = errno;
    if (err != EAGAIN && err != EWOULDBLOCK && err != ENOTSOCK) return r;
    errno = saved;
    return err == ENOTSOCK ? kUntried : kWouldBlock;
}

/// The rest of a blocking socket write/send of `n` bytes whose fast try,
/// try_socket_first(attempt(0)), gave `first` (kWouldBlock, or part of a
/// stream write), `p` being the plan read since: what the real call would
/// return. nullopt when the fast path did not run or the fd is no socket
/// after all: the caller takes its own full path.
template <class Attempt>
std::optional<ssize_t> finish_send(int fd, std::size_t n, ssize_t first, const Plan& p, Attempt&& attempt) {
    if (first == kUntried) return std::nullopt;
    if (p.info.kind == FdKind::Socket) {
        const std::size_t sent = first > 0 ? static_cast<std::size_t>(first) : 0;
        if (p.info.nonblock) return sent ? first : fail(EAGAIN);  // what the real call says now
        const auto deadline = deadline_in_us(p.info.sndtimeo_us);
        if (p.cooperate && !p.info.stream)
            return retry(
                fd, Dir::Write, deadline, [&] { return attempt(0); }, true);
        if (p.cooperate) return write_all(fd, n, deadline, attempt, sent, true);
    }
    if (first >= 0) return first;  // some went out, then the fd changed under us: report that much
    return std::nullopt;
}

/// The part of `iov[0..n)` from byte `skip` on, at most `limit` bytes long.
std::vector<iovec> iov_slice(const iovec* iov, int n, std::size_t skip, std::size_t limit);
std::size_t iov_total(const iovec* iov, int n) noexcept;

}  // namespace grove::hooks
