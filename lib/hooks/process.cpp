// grove-hooks — waiting for children (waitpid, wait, wait3, wait4, waitid)
// and system(), cooperatively.
//
// How a greenlet waits for a child without SIGCHLD and without ever reaping
// somebody else's child: it asks the kernel with WNOHANG; when nothing is
// ready it parks on the hub until the child *may* have changed state, then
// asks again. The status always comes from the real wait call, so it is
// exact, and nothing is reaped that the caller did not ask for.
//   - One pid (pid > 0, waitid P_PID, P_PIDFD), exits only: a pidfd becomes
//     readable when that process exits (lib/io/child.hpp). No latency, no
//     polling. Another thread reaping the same pid first just makes the
//     next WNOHANG call fail with ECHILD, as the plain call would.
//   - Any child (pid -1 or a process group, waitid P_ALL/P_PGID), or stops
//     and continues (WUNTRACED, WCONTINUED: no pidfd reports them): the
//     pidfds of every current child of the process (/proc/self/task/*/
//     children) in one cooperative poll() with a 50 ms cap, after which the
//     list is read again — a child forked meanwhile by another greenlet or
//     thread is seen within 50 ms. The caller asked for *any* child, so
//     reaping whichever is ready is the plain call's meaning too.
// WNOHANG calls, callers that do not cooperate (no hub, the hub itself,
// unpatched) and a null siginfo are the real call, untouched.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "io/child.hpp"
#include "next.hpp"
#include "state.hpp"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace grove::hooks {
namespace {

constexpr int kStopsAndContinues = WUNTRACED | WCONTINUED;

/// Every child of this process: children of all its threads count for wait.
std::vector<pid_t> children() {
    std::vector<pid_t> out;
    DIR* tasks = opendir("/proc/self/task");
    if (!tasks) return out;
    while (dirent* e = readdir(tasks)) {
        if (e->d_name[0] == '.') continue;
        char path[320];
        std::snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        const int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC));
        if (fd < 0) continue;
        char buf[4096];
        const long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
        syscall(SYS_close, fd);
        if (n <= 0) continue;
        buf[n] = '\0';
        for (char* p = buf; *p;) {
            char* end = nullptr;
            const long pid = std::strtol(p, &end, 10);
            if (end == p) break;
            out.push_back(static_cast<pid_t>(pid));
            p = end;
        }
    }
    closedir(tasks);
    return out;
}

/// Parks until any of this process's children may have changed state (50 ms
/// at most). 0, or the errno of an interruption.
int wait_any_child() {
    struct Fds {
        std::vector<pollfd> v;
        ~Fds() {
            for (const pollfd& p : v) ::close(p.fd);  // hooked: wakes nobody but is tidy
        }
    } fds;
    for (pid_t pid : children()) {
        const int fd = detail::open_pidfd(pid);
        if (fd >= 0) fds.v.push_back({fd, POLLIN, 0});
    }
    const int r = ::poll(fds.v.data(), fds.v.size(), 50);  // hooked: cooperative
    return r < 0 && errno != EINTR ? errno : 0;
}

/// Parks until the child(ren) that `pid` names may have changed state.
/// 0, or the errno of an interruption (ECANCELED, ETIMEDOUT...).
int wait_change(pid_t pid, int options) {
    if (kill_pending()) return ECANCELED;
    if (pid <= 0 || (options & kStopsAndContinues)) return wait_any_child();
    try {
        detail::wait_exited(pid, std::nullopt);
        return 0;
    } catch (...) {
        return interrupted();
    }
}

/// waitid(P_PIDFD, fd): the caller's own pidfd is the thing to wait on.
int wait_pidfd(int fd, int options) {
    if (options & kStopsAndContinues) return wait_any_child();
    return wait_fd(fd, Dir::Read, std::nullopt);
}

pid_t real_wait4(pid_t pid, int* status, int options, rusage* ru) {
    return GROVE_NEXT(wait4)(pid, status, options, ru);
}

// --- system() ------------------------------------------------------------

// SIGINT and SIGQUIT are ignored in the process while any system() runs
// (counted, like glibc's own system); SIGCHLD is blocked in the calling
// thread while any system() of that thread runs (the mask is per thread, and
// every greenlet of a thread shares it).
std::mutex g_signals_mutex;
int g_signal_users = 0;
struct sigaction g_old_int, g_old_quit;
thread_local int t_chld_users = 0;
thread_local sigset_t t_mask_before;

class SystemSignals {
public:
    SystemSignals() {
        {
            std::lock_guard<std::mutex> lock(g_signals_mutex);
            if (g_signal_users++ == 0) {
                struct sigaction ign {};
                ign.sa_handler = SIG_IGN;
                sigemptyset(&ign.sa_mask);
                sigaction(SIGINT, &ign, &g_old_int);
                sigaction(SIGQUIT, &ign, &g_old_quit);
            }
            sigemptyset(&defaults_);
            if (g_old_int.sa_handler != SIG_IGN) sigaddset(&defaults_, SIGINT);
            if (g_old_quit.sa_handler != SIG_IGN) sigaddset(&defaults_, SIGQUIT);
        }
        if (t_chld_users++ == 0) {
            sigset_t chld;
            sigemptyset(&chld);
            sigaddset(&chld, SIGCHLD);
            pthread_sigmask(SIG_BLOCK, &chld, &t_mask_before);
        }
    }
    ~SystemSignals() {
        if (--t_chld_users == 0) pthread_sigmask(SIG_SETMASK, &t_mask_before, nullptr);
        std::lock_guard<std::mutex> lock(g_signals_mutex);
        if (--g_signal_users == 0) {
            sigaction(SIGINT, &g_old_int, nullptr);
            sigaction(SIGQUIT, &g_old_quit, nullptr);
        }
    }
    SystemSignals(const SystemSignals&) = delete;
    SystemSignals& operator=(const SystemSignals&) = delete;

    /// The shell gets the caller's mask and dispositions from before system().
    const sigset_t& child_mask() const noexcept { return t_mask_before; }
    const sigset_t& child_defaults() const noexcept { return defaults_; }

private:
    sigset_t defaults_;
};

/// A shell that the caller stopped waiting for (kill, Timeout): killed and
/// reaped, as glibc's system() does when its thread is cancelled.
struct KillOnLeave {
    pid_t pid;
    bool armed = true;
    ~KillOnLeave() {
        if (!armed) return;
        ::kill(pid, SIGKILL);
        while (real_wait4(pid, nullptr, 0, nullptr) < 0 && errno == EINTR) {
        }
    }
};

int run_shell(const char* command) {
    SystemSignals signals;
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &signals.child_mask());
    posix_spawnattr_setsigdefault(&attr, &signals.child_defaults());
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char* argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), const_cast<char*>(command), nullptr};
    pid_t pid = -1;
    const int err = posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    // POSIX: a shell that cannot run looks like one that exited with 127.
    if (err != 0) return W_EXITCODE(127, 0);
    KillOnLeave guard{pid};
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {  // hooked: cooperative
    }
    if (r < 0) return -1;  // ECANCELED/ETIMEDOUT: the guard kills the shell
    guard.armed = false;
    return status;
}

}  // namespace
}  // namespace grove::hooks

using namespace grove::hooks;

extern "C" {

pid_t wait4(pid_t pid, int* status, int options, rusage* ru) {
    if ((options & WNOHANG) || !cooperative()) return real_wait4(pid, status, options, ru);
    for (;;) {
        const pid_t r = real_wait4(pid, status, options | WNOHANG, ru);
        if (r != 0) return r;
        if (const int err = wait_change(pid, options)) return fail(err);
    }
}

pid_t waitpid(pid_t pid, int* status, int options) { return wait4(pid, status, options, nullptr); }
pid_t wait(int* status) { return wait4(-1, status, 0, nullptr); }
pid_t wait3(int* status, int options, rusage* ru) { return wait4(-1, status, options, ru); }

int waitid(idtype_t type, id_t id, siginfo_t* info, int options) {
    auto real = GROVE_NEXT(waitid);
    if ((options & WNOHANG) || !info || !cooperative()) return real(type, id, info, options);
    for (;;) {
        info->si_pid = 0;
        const int r = real(type, id, info, options | WNOHANG);
        if (r != 0 || info->si_pid != 0) return r;
        int err;
        if (static_cast<int>(type) == P_PIDFD)
            err = wait_pidfd(static_cast<int>(id), options);
        else
            err = wait_change(type == P_PID ? static_cast<pid_t>(id) : -1,
                              (options & (WSTOPPED | WCONTINUED)) ? kStopsAndContinues : 0);
        if (err) return fail(err);
    }
}

int system(const char* command) {
    if (!patched()) return GROVE_NEXT(system)(command);
    if (!command) return access("/bin/sh", X_OK) == 0;  // is a shell available?
    return run_shell(command);
}

}  // extern "C"
