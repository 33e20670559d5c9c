// grove-hooks internal — the real libc functions behind every hook.
//
// Resolved once, for all of them together, with dlsym(RTLD_NEXT, ...): on the
// first use or from the library's constructor, whichever comes first. Safe
// before main, from any thread, and re-entrantly: a hook reached *while* the
// symbols are being resolved (dlsym may allocate; an allocator may log) gets
// nullptr from table() and falls back to the raw system call, so resolution
// never recurses into itself. Other threads arriving during that short window
// take the same fallback rather than wait.
#pragma once

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace grove::hooks {

// X(name, return type, parameters, arguments, fallback expression while unresolved)
#define GROVE_REAL_FUNCTIONS(X)                                                                                       \
    X(read, ssize_t, (int fd, void* b, size_t n), (fd, b, n), syscall(SYS_read, fd, b, n))                            \
    X(write, ssize_t, (int fd, const void* b, size_t n), (fd, b, n), syscall(SYS_write, fd, b, n))                    \
    X(readv, ssize_t, (int fd, const iovec* v, int n), (fd, v, n), syscall(SYS_readv, fd, v, n))                      \
    X(writev, ssize_t, (int fd, const iovec* v, int n), (fd, v, n), syscall(SYS_writev, fd, v, n))                    \
    X(recv, ssize_t, (int fd, void* b, size_t n, int f), (fd, b, n, f),                                               \
      syscall(SYS_recvfrom, fd, b, n, f, nullptr, nullptr))                                                           \
    X(recvfrom, ssize_t, (int fd, void* b, size_t n, int f, sockaddr* a, socklen_t* l), (fd, b, n, f, a, l),          \
      syscall(SYS_recvfrom, fd, b, n, f, a, l))                                                                       \
    X(recvmsg, ssize_t, (int fd, msghdr* m, int f), (fd, m, f), syscall(SYS_recvmsg, fd, m, f))                       \
    X(send, ssize_t, (int fd, const void* b, size_t n, int f), (fd, b, n, f),                                         \
      syscall(SYS_sendto, fd, b, n, f, nullptr, 0))                                                                   \
    X(sendto, ssize_t, (int fd, const void* b, size_t n, int f, const sockaddr* a, socklen_t l), (fd, b, n, f, a, l), \
      syscall(SYS_sendto, fd, b, n, f, a, l))                                                                         \
    X(sendmsg, ssize_t, (int fd, const msghdr* m, int f), (fd, m, f), syscall(SYS_sendmsg, fd, m, f))                 \
    X(connect, int, (int fd, const sockaddr* a, socklen_t l), (fd, a, l), syscall(SYS_connect, fd, a, l))             \
    X(accept, int, (int fd, sockaddr* a, socklen_t* l), (fd, a, l), syscall(SYS_accept, fd, a, l))                    \
    X(accept4, int, (int fd, sockaddr* a, socklen_t* l, int f), (fd, a, l, f), syscall(SYS_accept4, fd, a, l, f))     \
    X(poll, int, (pollfd * p, nfds_t n, int t), (p, n, t), raw_poll(p, n, t))                                         \
    X(ppoll, int, (pollfd * p, nfds_t n, const timespec* t, const sigset_t* s), (p, n, t, s),                         \
      syscall(SYS_ppoll, p, n, t, s, _NSIG / 8))                                                                      \
    X(select, int, (int n, fd_set* r, fd_set* w, fd_set* e, timeval* t), (n, r, w, e, t),                             \
      syscall(SYS_select, n, r, w, e, t))                                                                             \
    X(close, int, (int fd), (fd), syscall(SYS_close, fd))                                                             \
    X(socket, int, (int d, int t, int p), (d, t, p), syscall(SYS_socket, d, t, p))                                    \
    X(socketpair, int, (int d, int t, int p, int* sv), (d, t, p, sv), syscall(SYS_socketpair, d, t, p, sv))           \
    X(pipe, int, (int* fds), (fds), syscall(SYS_pipe2, fds, 0))                                                       \
    X(pipe2, int, (int* fds, int f), (fds, f), syscall(SYS_pipe2, fds, f))                                            \
    X(dup, int, (int fd), (fd), syscall(SYS_dup, fd))                                                                 \
    X(dup2, int, (int a, int b), (a, b), syscall(SYS_dup2, a, b))                                                     \
    X(dup3, int, (int a, int b, int f), (a, b, f), syscall(SYS_dup3, a, b, f))                                        \
    X(setsockopt, int, (int fd, int lv, int o, const void* v, socklen_t l), (fd, lv, o, v, l),                        \
      syscall(SYS_setsockopt, fd, lv, o, v, l))                                                                       \
    X(getsockopt, int, (int fd, int lv, int o, void* v, socklen_t* l), (fd, lv, o, v, l),                             \
      syscall(SYS_getsockopt, fd, lv, o, v, l))                                                                       \
    X(nanosleep, int, (const timespec* r, timespec* m), (r, m), syscall(SYS_nanosleep, r, m))                         \
    X(clock_nanosleep, int, (clockid_t c, int f, const timespec* r, timespec* m), (c, f, r, m),                       \
      raw_clock_nanosleep(c, f, r, m))                                                                                \
    X(sleep, unsigned, (unsigned s), (s), raw_sleep(s))                                                               \
    X(usleep, int, (useconds_t u), (u), raw_usleep(u))                                                                \
    X(getaddrinfo, int, (const char* n, const char* s, const addrinfo* h, addrinfo** r), (n, s, h, r),                \
      unresolved_eai())                                                                                               \
    X(getnameinfo, int, (const sockaddr* a, socklen_t l, char* h, socklen_t hl, char* s, socklen_t sl, int f),        \
      (a, l, h, hl, s, sl, f), unresolved_eai())                                                                      \
    X(gethostbyname, hostent*, (const char* n), (n), nullptr)                                                         \
    X(freeaddrinfo, void, (addrinfo * a), (a), void())

/// Pointers to the next definition of each function after grove-hooks.
struct RealTable {
#define GROVE_REAL_FIELD(name, ret, params, args, fallback) ret(*name) params = nullptr;
    GROVE_REAL_FUNCTIONS(GROVE_REAL_FIELD)
#undef GROVE_REAL_FIELD
    int (*fcntl)(int, int, ...) = nullptr;
    int (*ioctl)(int, unsigned long, ...) = nullptr;
};

/// The resolved table, resolving it on first use; nullptr while resolution
/// is in progress (on any thread). Never blocks, never allocates itself.
const RealTable* real_table() noexcept;

// Fallbacks for functions that are not one system call.
int raw_poll(pollfd* p, nfds_t n, int timeout_ms) noexcept;
int raw_clock_nanosleep(clockid_t c, int flags, const timespec* req, timespec* rem) noexcept;
unsigned raw_sleep(unsigned seconds) noexcept;
int raw_usleep(useconds_t usec) noexcept;
int unresolved_eai() noexcept;

/// The real calls: `real::read(fd, buf, n)` is libc's read, whatever hooks
/// are installed. fcntl and ioctl take their variadic argument as a word.
namespace real {
#define GROVE_REAL_CALL(name, ret, params, args, fallback)    \
    inline ret name params {                                  \
        const RealTable* table_ = real_table();               \
        if (table_ && table_->name) return table_->name args; \
        return static_cast<ret>(fallback);                    \
    }
GROVE_REAL_FUNCTIONS(GROVE_REAL_CALL)
#undef GROVE_REAL_CALL
inline int fcntl(int fd, int cmd, unsigned long arg) {
    const RealTable* table_ = real_table();
    if (table_ && table_->fcntl) return table_->fcntl(fd, cmd, arg);
    return static_cast<int>(syscall(SYS_fcntl, fd, cmd, arg));
}
inline int ioctl(int fd, unsigned long req, void* arg) {
    const RealTable* table_ = real_table();
    if (table_ && table_->ioctl) return table_->ioctl(fd, req, arg);
    return static_cast<int>(syscall(SYS_ioctl, fd, req, arg));
}
}  // namespace real

}  // namespace grove::hooks
