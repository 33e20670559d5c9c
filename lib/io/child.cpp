// grove internal — pidfd waits and the reaper thread (see child.hpp).
//
// Everything here uses the raw system calls (wait4, pidfd_open, close, poll),
// not libc's wrappers: when grove-hooks is loaded those names are hooked, and
// the reaper thread must never go through them.
#include "child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/io/wait.hpp>

#include "fd_wait.hpp"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

namespace grove::detail {

int open_pidfd(pid_t pid) noexcept {
    // pidfds are always close-on-exec.
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

bool wait_exited(pid_t pid, std::optional<Deadline> deadline) {
    const int fd = open_pidfd(pid);
    if (fd < 0) {
        if (errno != ENOSYS) return true;  // ESRCH: gone already; EMFILE...: let waitpid say
        // No pidfds (Linux < 5.3): look again in a moment.
        Duration pause = std::chrono::milliseconds(5);
        if (deadline) pause = std::min(pause, Duration(*deadline - grove::now()));
        if (pause.count() <= 0) return false;
        grove::sleep(pause);
        return true;
    }
    struct Close {
        int fd;
        ~Close() {
            notify_close(fd);
            syscall(SYS_close, fd);
        }
    } close{fd};
    return wait_fd(fd, kFdRead, deadline, "grove: waiting for a child process");
}

namespace {

/// The reaper: pids to reap once they exit, and a pipe that wakes its poll.
struct Reaper {
    std::mutex mutex;
    std::vector<pid_t> pending;  // handed over, not yet picked up by the thread
    int wake[2] = {-1, -1};
    pid_t owner = 0;  // the process whose thread this is (fork leaves none)

    void run();
};

Reaper& reaper() {
    static Reaper* r = new Reaper;  // never destroyed: its thread may outlive exit's destructors
    return *r;
}

struct Child {
    pid_t pid;
    int pidfd;  // -1 without pidfds: polled every 100 ms
};

/// True when `pid` is reaped (or was never ours).
bool try_reap(pid_t pid) noexcept {
    const long r = syscall(SYS_wait4, pid, nullptr, WNOHANG | __WALL, nullptr);
    return r != 0 && !(r < 0 && errno == EINTR);
}

void Reaper::run() {
    std::vector<Child> children;
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(mutex);
            for (pid_t pid : pending) children.push_back({pid, open_pidfd(pid)});
            pending.clear();
        }
        children.erase(std::remove_if(children.begin(), children.end(),
                                      [](const Child& c) {
                                          if (!try_reap(c.pid)) return false;
                                          if (c.pidfd >= 0) syscall(SYS_close, c.pidfd);
                                          return true;
                                      }),
                       children.end());
        std::vector<pollfd> fds{{wake[0], POLLIN, 0}};
        bool polled = false;
        for (const Child& c : children) {
            if (c.pidfd >= 0)
                fds.push_back({c.pidfd, POLLIN, 0});
            else
                polled = true;
        }
        timespec tick{0, 100 * 1000 * 1000};
        syscall(SYS_ppoll, fds.data(), fds.size(), polled ? &tick : nullptr, nullptr, 0);
        if (fds[0].revents) {
            char buf[64];
            while (syscall(SYS_read, wake[0], buf, sizeof buf) > 0) {
            }
        }
    }
}

}  // namespace

void reap_later(pid_t pid) noexcept {
    if (pid <= 0 || try_reap(pid)) return;
    Reaper& r = reaper();
    std::lock_guard<std::mutex> lock(r.mutex);
    const pid_t self = static_cast<pid_t>(syscall(SYS_getpid));
    if (r.owner != self) {  // first use in this process (or in a forked child)
        if (r.wake[0] >= 0) syscall(SYS_close, r.wake[0]), syscall(SYS_close, r.wake[1]);
        r.pending.clear();
        if (syscall(SYS_pipe2, r.wake, O_CLOEXEC | O_NONBLOCK) != 0) return;
        // Signals stay with the program's own threads: the reaper blocks them all.
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        bool started = true;
        try {
            std::thread([&r] { r.run(); }).detach();
        } catch (...) {
            started = false;  // no thread: the child stays a zombie until the process reaps it
        }
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        if (!started) return;
        r.owner = self;
    }
    try {
        r.pending.push_back(pid);
    } catch (...) {
        return;
    }
    const char one = 1;
    (void)syscall(SYS_write, r.wake[1], &one, 1);
}

}  // namespace grove::detail
