// grove-hooks — calls that create, change or end file descriptors: close,
// dup/dup2/dup3, pipe/pipe2, socket/socketpair, fcntl, ioctl(FIONBIO).
//
// None of them ever blocks or switches. The creating calls prime the fd table
// (fdtable.hpp) when patched; the flag-changing ones invalidate it; the
// ending ones wake the greenlets of this thread that wait on the fd *before*
// the real call, so they see EBADF (or POLLNVAL) and a reused fd number never
// gets their stale wake-up.
// Define the plain `fcntl` symbol: with _FILE_OFFSET_BITS=64 (which some
// dependencies' pkg-config adds) <fcntl.h> renames fcntl to fcntl64.
#undef _FILE_OFFSET_BITS
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdarg>

#include <grove/hub.hpp>
#include <grove/io/wait.hpp>

#include "fdtable.hpp"
#include "poll.hpp"
#include "real.hpp"
#include "signals.hpp"
#include "state.hpp"

namespace grove::hooks {
namespace {

/// Before `fd` stops meaning what it meant (close, or dup2/dup3 onto it).
/// Lock-free: safe in a signal handler and in a thread racing a fork().
/// In a handler the hub is left alone (the handler may have interrupted it
/// mid-change): waiters of this thread on `fd` are not woken then (the main
/// greenlet's wait is, by the signal itself).
void retire(int fd) noexcept {
    fd_forget(fd);
    if (fd < 0 || !patched() || in_signal_handler() || !get_hub_if_exists()) return;
    notify_close(fd);
    wake_pollers(fd);
}

void record(int fd, FdKind kind, bool nonblock, bool stream, bool readable = true, bool writable = true) noexcept {
    if (fd < 0 || !patched()) return;
    FdInfo info;
    info.kind = kind;
    info.nonblock = nonblock;
    info.stream = stream;
    info.readable = readable;
    info.writable = writable;
    fd_record(fd, info);
}

void record_pipe(const int fds[2], bool nonblock) noexcept {
    record(fds[0], FdKind::Pipe, nonblock, false, true, false);
    record(fds[1], FdKind::Pipe, nonblock, false, false, true);
}

void record_socket(int fd, int type) noexcept {
    record(fd, FdKind::Socket, type & SOCK_NONBLOCK, (type & 0xf) == SOCK_STREAM);
}

int fcntl_hook(int fd, int cmd, unsigned long arg) {
    const int r = real::fcntl(fd, cmd, arg);
    if (r != -1 && cmd == F_SETFL) fd_table_changed();
    return r;
}

}  // namespace
}  // namespace grove::hooks

using namespace grove::hooks;

extern "C" {

int close(int fd) {
    retire(fd);
    return real::close(fd);
}

int dup2(int from, int to) noexcept {
    if (from != to && fcntl_hook(from, F_GETFD, 0) != -1) retire(to);
    return real::dup2(from, to);
}

int dup3(int from, int to, int flags) noexcept {
    if (from != to && fcntl_hook(from, F_GETFD, 0) != -1) retire(to);
    return real::dup3(from, to, flags);
}

int dup(int fd) noexcept { return real::dup(fd); }

int pipe(int fds[2]) noexcept {
    const int r = real::pipe(fds);
    if (r == 0) record_pipe(fds, false);
    return r;
}

int pipe2(int fds[2], int flags) noexcept {
    const int r = real::pipe2(fds, flags);
    const bool nb = flags & O_NONBLOCK;
    if (r == 0) record_pipe(fds, nb);
    return r;
}

int socket(int domain, int type, int protocol) noexcept {
    const int fd = real::socket(domain, type, protocol);
    record_socket(fd, type);
    return fd;
}

int socketpair(int domain, int type, int protocol, int sv[2]) noexcept {
    const int r = real::socketpair(domain, type, protocol, sv);
    if (r == 0) record_socket(sv[0], type), record_socket(sv[1], type);
    return r;
}

int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    const unsigned long arg = va_arg(ap, unsigned long);  // absent for F_GETFL: unused then
    va_end(ap);
    return fcntl_hook(fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    const unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return fcntl_hook(fd, cmd, arg);
}

int ioctl(int fd, unsigned long request, ...) noexcept {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    const int r = real::ioctl(fd, request, arg);
    if (r != -1 && request == FIONBIO) fd_table_changed();
    return r;
}

}  // extern "C"
