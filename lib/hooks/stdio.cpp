// grove-hooks — cooperative FILE* streams, and fdopen().
//
// glibc's stdio reads and writes through its own internal syscall wrappers,
// never the read/write symbols, so no hook can reach a plain FILE*. A stream
// made with fopencookie() calls back into functions of ours instead, and
// those call the hooked read()/write(): a greenlet in fgets() on a pipe waits
// on the hub while the others run; outside a greenlet the same stream is
// plain blocking I/O. Everything else (buffers, ungetc, line buffering,
// locking, error and EOF flags) is glibc's own FILE code.
//
// Two glibc details, both part of glibc's public struct _IO_FILE:
//   - a cookie stream reports fileno() == -1 (it marks _fileno with -2);
//     we store the real fd there so fileno() works. glibc's cookie stream
//     never reads _fileno for I/O (it calls the cookie functions), and
//     fclose() calls our close function, which closes the fd;
//   - a cookie stream has no st_mode to look at, so glibc would make even a
//     tty fully buffered: we ask for line buffering on ttys ourselves.
//
// An interruption (kill, grove::Timeout) inside a cookie function is always
// reported the C way (ECANCELED/ETIMEDOUT: the stream's error flag is set and
// fgets returns NULL), even under PropagateInterrupts: glibc holds the
// stream's lock across the callback, so nothing may unwind through it.
#include "stdio.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "fdtable.hpp"
#include "next.hpp"
#include "state.hpp"

namespace grove::hooks {
namespace {

int fd_of(void* cookie) noexcept { return static_cast<int>(reinterpret_cast<std::intptr_t>(cookie)); }

template <class Call>
ssize_t c_way(Call&& call) noexcept {
    try {
        return call();
    } catch (...) {
        try {
            return fail(interrupted(false));
        } catch (...) {
            return fail(EIO);
        }
    }
}

ssize_t cookie_read(void* cookie, char* buf, size_t n) {
    return c_way([&] { return ::read(fd_of(cookie), buf, n); });  // hooked
}

ssize_t cookie_write(void* cookie, const char* buf, size_t n) {
    // glibc treats a short count as an error; the hooked write of a blocking
    // pipe or stream socket writes everything (or fails). A cookie write
    // must never return a negative count (fopencookie(3)): 0 and errno.
    const ssize_t r = c_way([&] { return ::write(fd_of(cookie), buf, n); });
    return r < 0 ? 0 : r;
}

int cookie_seek(void*, off64_t*, int) {
    errno = ESPIPE;  // glibc ignores ESPIPE from unseekable streams on fflush
    return -1;
}

int cookie_close(void* cookie) { return ::close(fd_of(cookie)); }  // hooked: wakes waiters

/// The cookie mode for a stdio mode: "r", "w", "a", each with '+' or not.
bool cookie_mode(const char* mode, char out[3]) noexcept {
    if (!mode || (mode[0] != 'r' && mode[0] != 'w' && mode[0] != 'a')) return false;
    out[0] = mode[0];
    out[1] = std::strchr(mode + 1, '+') ? '+' : '\0';
    out[2] = '\0';
    return true;
}

}  // namespace

FILE* cooperative_file(int fd, const char* mode) noexcept {
    char m[3];
    if (!cookie_mode(mode, m)) {
        errno = EINVAL;
        return nullptr;
    }
    const cookie_io_functions_t io{cookie_read, cookie_write, cookie_seek, cookie_close};
    FILE* f = fopencookie(reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)), m, io);
    if (!f) return nullptr;
#ifdef __GLIBC__
    f->_fileno = fd;
#endif
    if (fd_info(fd).kind == FdKind::Tty) setvbuf(f, nullptr, _IOLBF, BUFSIZ);
    return f;
}

}  // namespace grove::hooks

using namespace grove::hooks;

extern "C" {

FILE* fdopen(int fd, const char* mode) {
    auto real = GROVE_NEXT(fdopen);
    if (!patched() || !mode) return real(fd, mode);
    const FdKind kind = fd_info(fd).kind;
    if (kind != FdKind::Socket && kind != FdKind::Pipe && kind != FdKind::Tty) return real(fd, mode);
    // glibc's checks: the fd is open, and its access mode allows the stream's.
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags == -1) return nullptr;
    const int access = flags & O_ACCMODE;
    const bool plus = mode[0] && std::strchr(mode + 1, '+');
    const bool reads = mode[0] == 'r' || plus, writes = mode[0] != 'r' || plus;
    if ((mode[0] != 'r' && mode[0] != 'w' && mode[0] != 'a') || (reads && access == O_WRONLY) ||
        (writes && access == O_RDONLY)) {
        errno = EINVAL;
        return nullptr;
    }
    if (mode[0] == 'a' && !(flags & O_APPEND) && ::fcntl(fd, F_SETFL, flags | O_APPEND) == -1) return nullptr;
    return cooperative_file(fd, mode);
}

}  // extern "C"
