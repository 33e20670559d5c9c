// libgrove-run.so — the small library tools/grove-run preloads (issue 21:
// "cheap when idle"). Loading grove itself (libstdc++, libgrove, libev,
// spdlog...) costs a program about 2 ms of CPU and 2 MB of RSS at exec; this
// library needs only libc and libdl, and loads grove on the first call that
// would really wait.
//
// It defines the hooked calls. Until grove is loaded each one is the plain
// call: with no hub and no greenlet, waiting in the kernel is what the
// cooperative path would do too (the main thread is the only one that would
// get a hub). On the main thread, a call that would block — a sleep with a
// nonzero duration, a read-like call on an fd not readable now, a write-like
// call on an fd not writable now, a poll/select with a timeout and nothing
// ready — first loads libgrove.so and libgrove-hooks.so (dlopen, global), calls
// grove_run_activate() (patch_all, a hub for the main thread on demand, the
// handlers already installed wrapped for EINTR), and from then on every
// listed call goes to libgrove-hooks' definition.
//
// Only the calls listed here are forwarded: a hook defined in
// libgrove-hooks but not listed is not interposed in this lazy mode. Add new
// hooks to the list. grove-run --green-threads (or GROVE_RUN_EAGER=1)
// preloads libgrove-hooks directly instead, with every hook from the start.
//
// No exceptions, no RTTI, no libstdc++: built with -fno-exceptions -fno-rtti
// and checked to have no libstdc++ dependency.
// Define the plain `fcntl` symbol (see fd.cpp).
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "preload_env.hpp"

using grove::hooks::strip_preload;

namespace {

// 0: grove not loaded; 1: being loaded (every call plain); 2: loaded; 3: failed.
int g_state = 0;
void* g_handle = nullptr;
char g_hooks_path[4096];
char g_core_path[4096];
[[gnu::tls_model("initial-exec")]] constinit thread_local bool t_main = false;

int load_state() { return __atomic_load_n(&g_state, __ATOMIC_ACQUIRE); }

void* next(const char* name) { return dlsym(RTLD_NEXT, name); }

int (*g_real_poll)(pollfd*, nfds_t, int) = nullptr;

/// `fd` is ready for `events` now, or in error: the plain call will not wait.
bool ready(int fd, short events) {
    pollfd p{fd, events, 0};
    const int saved = errno;
    const int r = g_real_poll ? g_real_poll(&p, 1, 0) : 1;
    errno = saved;
    return r != 0;
}

bool nonzero(const timespec* t) { return !t || t->tv_sec != 0 || t->tv_nsec != 0; }

/// Loads grove; true when the calls now go to libgrove-hooks.
bool activate() {
    int expected = 0;
    if (!__atomic_compare_exchange_n(&g_state, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return expected == 2;
    // Everything dlopen runs (constructors, allocations) sees state 1: plain calls.
    void* core = g_core_path[0] ? dlopen(g_core_path, RTLD_NOW | RTLD_GLOBAL) : nullptr;
    g_handle = core && g_hooks_path[0] ? dlopen(g_hooks_path, RTLD_NOW | RTLD_GLOBAL) : nullptr;
    auto activate_fn = g_handle ? reinterpret_cast<void (*)()>(dlsym(g_handle, "grove_run_activate")) : nullptr;
    if (!activate_fn) {
        const char* err = dlerror();
        char why[512] = "";
        if (err) strncpy(why, err, sizeof why - 1);
        static const char prefix[] = "grove-run: cannot load grove, running plainly: ";
        ssize_t ignored = write(2, prefix, sizeof prefix - 1);
        ignored = write(2, why, strlen(why));
        ignored = write(2, "\n", 1);
        (void)ignored;
        __atomic_store_n(&g_state, 3, __ATOMIC_RELEASE);
        return false;
    }
    activate_fn();
    __atomic_store_n(&g_state, 2, __ATOMIC_RELEASE);
    return true;
}

void copy_env(const char* name, char* out, size_t size) {
    const char* v = getenv(name);
    if (v && strlen(v) < size) strcpy(out, v);
}

[[gnu::constructor(101)]] void at_load() {
    t_main = true;  // the loading thread is the main thread
    g_real_poll = reinterpret_cast<int (*)(pollfd*, nfds_t, int)>(next("poll"));
    copy_env("GROVE_RUN_HOOKS", g_hooks_path, sizeof g_hooks_path);
    copy_env("GROVE_RUN_CORE", g_core_path, sizeof g_core_path);
    const char* children = getenv("GROVE_CHILDREN");
    if (children && strcmp(children, "0") == 0) {
        strip_preload();
        unsetenv("GROVE_PATCH_ALL");
        unsetenv("GROVE_CHILDREN");
        unsetenv("GROVE_RUN_HOOKS");
        unsetenv("GROVE_RUN_CORE");
        if (getenv("GROVE_RUN_TUNABLES")) {  // the launcher's static-TLS reserve, nothing of the user's
            unsetenv("GLIBC_TUNABLES");
            unsetenv("GROVE_RUN_TUNABLES");
        }
    }
}

}  // namespace

// SHIM(return type, name, (parameters), (arguments), would-block test)
// The test runs only on the main thread while grove is not loaded.
#define GROVE_SHIM(ret, name, params, args, blocks)                                  \
    extern "C" ret name params {                                                     \
        using Fn = ret(*) params;                                                    \
        static Fn real_fn = nullptr;                                                 \
        static Fn hook_fn = nullptr;                                                 \
        int state = load_state();                                                    \
        if (state != 2 && state != 1 && t_main && (blocks) && activate()) state = 2; \
        if (state == 2) {                                                            \
            Fn hook_ = __atomic_load_n(&hook_fn, __ATOMIC_ACQUIRE);                  \
            if (!hook_) {                                                            \
                hook_ = reinterpret_cast<Fn>(dlsym(g_handle, #name));                \
                __atomic_store_n(&hook_fn, hook_, __ATOMIC_RELEASE);                 \
            }                                                                        \
            if (hook_) return hook_ args;                                            \
        }                                                                            \
        Fn real_ = __atomic_load_n(&real_fn, __ATOMIC_ACQUIRE);                      \
        if (!real_) {                                                                \
            real_ = reinterpret_cast<Fn>(next(#name));                               \
            __atomic_store_n(&real_fn, real_, __ATOMIC_RELEASE);                     \
        }                                                                            \
        return real_ args;                                                           \
    }

// clang-format off
GROVE_SHIM(ssize_t, read, (int fd, void* b, size_t n), (fd, b, n), !ready(fd, POLLIN))
GROVE_SHIM(ssize_t, readv, (int fd, const iovec* v, int n), (fd, v, n), !ready(fd, POLLIN))
GROVE_SHIM(ssize_t, recv, (int fd, void* b, size_t n, int f), (fd, b, n, f), !(f & MSG_DONTWAIT) && !ready(fd, POLLIN))
GROVE_SHIM(ssize_t, recvfrom, (int fd, void* b, size_t n, int f, sockaddr* a, socklen_t* l), (fd, b, n, f, a, l),
           !(f & MSG_DONTWAIT) && !ready(fd, POLLIN))
GROVE_SHIM(ssize_t, recvmsg, (int fd, msghdr* m, int f), (fd, m, f), !(f & MSG_DONTWAIT) && !ready(fd, POLLIN))
GROVE_SHIM(int, accept, (int fd, sockaddr* a, socklen_t* l), (fd, a, l), !ready(fd, POLLIN))
GROVE_SHIM(int, accept4, (int fd, sockaddr* a, socklen_t* l, int f), (fd, a, l, f), !ready(fd, POLLIN))
GROVE_SHIM(ssize_t, write, (int fd, const void* b, size_t n), (fd, b, n), !ready(fd, POLLOUT))
GROVE_SHIM(ssize_t, writev, (int fd, const iovec* v, int n), (fd, v, n), !ready(fd, POLLOUT))
GROVE_SHIM(ssize_t, send, (int fd, const void* b, size_t n, int f), (fd, b, n, f), !(f & MSG_DONTWAIT) && !ready(fd, POLLOUT))
GROVE_SHIM(ssize_t, sendto, (int fd, const void* b, size_t n, int f, const sockaddr* a, socklen_t l), (fd, b, n, f, a, l),
           !(f & MSG_DONTWAIT) && !ready(fd, POLLOUT))
GROVE_SHIM(ssize_t, sendmsg, (int fd, const msghdr* m, int f), (fd, m, f), !(f & MSG_DONTWAIT) && !ready(fd, POLLOUT))
GROVE_SHIM(int, connect, (int fd, const sockaddr* a, socklen_t l), (fd, a, l), false)
GROVE_SHIM(int, poll, (pollfd* p, nfds_t n, int t), (p, n, t), t != 0 && g_real_poll && g_real_poll(p, n, 0) == 0)
GROVE_SHIM(int, ppoll, (pollfd* p, nfds_t n, const timespec* t, const sigset_t* s), (p, n, t, s),
           nonzero(t) && g_real_poll && g_real_poll(p, n, 0) == 0)
GROVE_SHIM(int, select, (int n, fd_set* r, fd_set* w, fd_set* e, timeval* t), (n, r, w, e, t),
           !t || t->tv_sec != 0 || t->tv_usec != 0)
GROVE_SHIM(int, nanosleep, (const timespec* r, timespec* m), (r, m), nonzero(r))
GROVE_SHIM(int, clock_nanosleep, (clockid_t c, int f, const timespec* r, timespec* m), (c, f, r, m), true)
GROVE_SHIM(unsigned, sleep, (unsigned s), (s), s != 0)
GROVE_SHIM(int, usleep, (useconds_t u), (u), u != 0)
GROVE_SHIM(int, close, (int fd), (fd), false)
GROVE_SHIM(int, dup, (int fd), (fd), false)
GROVE_SHIM(int, dup2, (int a, int b), (a, b), false)
GROVE_SHIM(int, dup3, (int a, int b, int f), (a, b, f), false)
GROVE_SHIM(int, pipe, (int* fds), (fds), false)
GROVE_SHIM(int, pipe2, (int* fds, int f), (fds, f), false)
GROVE_SHIM(int, socket, (int d, int t, int p), (d, t, p), false)
GROVE_SHIM(int, socketpair, (int d, int t, int p, int* sv), (d, t, p, sv), false)
GROVE_SHIM(int, setsockopt, (int fd, int lv, int o, const void* v, socklen_t l), (fd, lv, o, v, l), false)
GROVE_SHIM(int, getaddrinfo, (const char* n, const char* s, const addrinfo* h, addrinfo** r), (n, s, h, r), false)
GROVE_SHIM(int, getnameinfo, (const sockaddr* a, socklen_t l, char* h, socklen_t hl, char* s, socklen_t sl, int f),
           (a, l, h, hl, s, sl, f), false)
GROVE_SHIM(hostent*, gethostbyname, (const char* n), (n), false)
GROVE_SHIM(int, sigaction, (int s, const struct sigaction* a, struct sigaction* o), (s, a, o), false)
GROVE_SHIM(sighandler_t, signal, (int s, sighandler_t h), (s, h), false)
GROVE_SHIM(sighandler_t, bsd_signal, (int s, sighandler_t h), (s, h), false)
GROVE_SHIM(int, siginterrupt, (int s, int f), (s, f), false)
// clang-format on

// The variadic ones: the argument is a word (see real.hpp).
using FcntlFn = int (*)(int, int, ...);
using IoctlFn = int (*)(int, unsigned long, ...);

namespace {
/// The hook once grove is loaded, else the next definition; both cached.
template <class Fn>
Fn pick(const char* name, Fn& real_fn, Fn& hook_fn) {
    if (load_state() == 2) {
        Fn h = __atomic_load_n(&hook_fn, __ATOMIC_ACQUIRE);
        if (!h) {
            h = reinterpret_cast<Fn>(dlsym(g_handle, name));
            __atomic_store_n(&hook_fn, h, __ATOMIC_RELEASE);
        }
        if (h) return h;
    }
    Fn r = __atomic_load_n(&real_fn, __ATOMIC_ACQUIRE);
    if (!r) {
        r = reinterpret_cast<Fn>(next(name));
        __atomic_store_n(&real_fn, r, __ATOMIC_RELEASE);
    }
    return r;
}
FcntlFn g_fcntl[2], g_fcntl64[2];
IoctlFn g_ioctl[2];
}  // namespace

extern "C" int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    const unsigned long arg = va_arg(ap, unsigned long);  // absent for F_GETFL: unused then
    va_end(ap);
    return pick<FcntlFn>("fcntl", g_fcntl[0], g_fcntl[1])(fd, cmd, arg);
}

extern "C" int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    const unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return pick<FcntlFn>("fcntl64", g_fcntl64[0], g_fcntl64[1])(fd, cmd, arg);
}

extern "C" int ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return pick<IoctlFn>("ioctl", g_ioctl[0], g_ioctl[1])(fd, request, arg);
}
