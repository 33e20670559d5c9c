// grove-hooks — popen() and pclose(), cooperatively.
//
// popen starts `/bin/sh -c command` with posix_spawn (as glibc does) on a
// pipe whose parent end becomes a cooperative FILE* (stdio.hpp): fgets,
// fread, fprintf and fflush on it wait on the hub in a greenlet. pclose
// closes the stream and waits for the shell with the hooked waitpid, so it
// cooperates too, and returns the shell's exact status.
//
// Modes are glibc's: "r" or "w", optionally followed by 'e' (the parent's end
// is close-on-exec); anything else is EINVAL. As POSIX asks, each new child
// closes the pipes of the popen() streams still open in the parent. A pclose
// that is interrupted (kill: ECANCELED, grove::Timeout: ETIMEDOUT) returns -1
// and leaves the shell running; grove's reaper thread reaps it when it exits,
// so it never stays a zombie.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <mutex>
#include <vector>

#include "io/child.hpp"
#include "next.hpp"
#include "state.hpp"
#include "stdio.hpp"

namespace grove::hooks {
namespace {

struct Popened {
    FILE* file;
    pid_t pid;
    int fd;
};

std::mutex g_mutex;
std::vector<Popened> g_open;  // guarded by g_mutex

struct Mode {
    bool read = false;
    bool cloexec = false;
};

bool parse(const char* mode, Mode& out) noexcept {
    if (!mode || (mode[0] != 'r' && mode[0] != 'w')) return false;
    out.read = mode[0] == 'r';
    for (const char* p = mode + 1; *p; ++p) {
        if (*p != 'e') return false;
        out.cloexec = true;
    }
    return true;
}

/// posix_spawn of the shell with `child` as its stdin or stdout.
int spawn_shell(const char* command, int child, int target, pid_t* pid) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        for (const Popened& p : g_open)
            if (p.fd != target) posix_spawn_file_actions_addclose(&fa, p.fd);
    }
    // dup2 onto itself clears close-on-exec in glibc's posix_spawn.
    posix_spawn_file_actions_adddup2(&fa, child, target);
    char* argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), const_cast<char*>(command), nullptr};
    const int err = posix_spawn(pid, "/bin/sh", &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return err;
}

FILE* open_pipe(const char* command, const Mode& mode) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return nullptr;  // hooked: primes the fd table
    const int parent = mode.read ? fds[0] : fds[1];
    const int child = mode.read ? fds[1] : fds[0];
    pid_t pid = -1;
    const int err = spawn_shell(command, child, mode.read ? STDOUT_FILENO : STDIN_FILENO, &pid);
    ::close(child);
    if (err != 0) {
        ::close(parent);
        errno = err;
        return nullptr;
    }
    if (!mode.cloexec) ::fcntl(parent, F_SETFD, 0);
    FILE* f = cooperative_file(parent, mode.read ? "r" : "w");
    if (!f) {
        const int saved = errno;
        ::close(parent);
        detail::reap_later(pid);
        errno = saved;
        return nullptr;
    }
    try {
        std::lock_guard<std::mutex> lock(g_mutex);
        g_open.push_back({f, pid, parent});
    } catch (...) {
        std::fclose(f);
        detail::reap_later(pid);
        errno = ENOMEM;
        return nullptr;
    }
    return f;
}

/// Removes `f` from the table; its pid, or -1 when it is not ours.
pid_t forget(FILE* f) {
    std::lock_guard<std::mutex> lock(g_mutex);
    for (auto it = g_open.begin(); it != g_open.end(); ++it) {
        if (it->file != f) continue;
        const pid_t pid = it->pid;
        g_open.erase(it);
        return pid;
    }
    return -1;
}

int close_pipe(FILE* f, pid_t pid) {
    std::fclose(f);
    struct ReapLater {  // the caller gave up (interrupted): the reaper takes over
        pid_t pid;
        bool armed = true;
        ~ReapLater() {
            if (armed) detail::reap_later(pid);
        }
    } later{pid};
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {  // hooked: cooperative
    }
    if (r < 0 && errno == ECHILD) later.armed = false;  // somebody else reaped it
    if (r < 0) return -1;
    later.armed = false;
    return status;
}

}  // namespace
}  // namespace grove::hooks

using namespace grove::hooks;

extern "C" {

FILE* popen(const char* command, const char* mode) {
    if (!patched()) return GROVE_NEXT(popen)(command, mode);
    Mode m;
    if (!command || !parse(mode, m)) {
        errno = EINVAL;
        return nullptr;
    }
    return open_pipe(command, m);
}

int pclose(FILE* f) {
    const pid_t pid = forget(f);
    if (pid < 0) return GROVE_NEXT(pclose)(f);  // a popen() from before patch_all()
    return close_pipe(f, pid);
}

}  // extern "C"
