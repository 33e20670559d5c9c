// grove util tests — run test/util/run_info_child as a child process with
// extra GROVE_* variables, act on it once it prints "ready", and collect its
// stdout, stderr and exit status.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace grove::test {

struct ChildResult {
    std::string out;
    std::string err;
    int status = 0;  // as from waitpid
};

/// Runs the helper with `arg` and `env` ("NAME=value") added to the
/// environment. `on_ready(pid, err)` is called when stdout says "ready" and
/// then after every chunk of stderr until it returns true; then the child is
/// killed (if still running). Gives up after `limit`.
inline ChildResult run_child(const std::string& arg, const std::vector<std::string>& env,
                             const std::function<bool(pid_t, const std::string&)>& on_ready,
                             std::chrono::seconds limit = std::chrono::seconds(10)) {
    const char* path = std::getenv("GROVE_UTIL_CHILD");
    EXPECT_NE(path, nullptr) << "GROVE_UTIL_CHILD not set (run under meson test)";
    ChildResult result;
    if (!path) return result;
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return result;
    std::vector<std::string> storage;
    for (char** e = environ; *e; ++e) storage.emplace_back(*e);
    storage.insert(storage.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& s : storage) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string arg_copy = arg;
    char* argv[] = {const_cast<char*>(path), arg_copy.data(), nullptr};
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        ::execve(path, argv, envp.data());
        ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    bool ready = false, done = false, out_open = true, err_open = true;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while ((out_open || err_open) && std::chrono::steady_clock::now() < deadline) {
        pollfd fds[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
        if (::poll(fds, 2, 50) < 0) break;
        char buf[4096];
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
            const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                (i == 0 ? out_open : err_open) = false;
                continue;
            }
            (i == 0 ? result.out : result.err).append(buf, static_cast<std::size_t>(n));
        }
        if (!ready && result.out.find("ready\n") != std::string::npos) ready = true;
        if (ready && !done && on_ready(pid, result.err)) {
            done = true;
            ::kill(pid, SIGKILL);
        }
    }
    ::kill(pid, SIGKILL);
    ::close(out[0]);
    ::close(err[0]);
    ::waitpid(pid, &result.status, 0);
    return result;
}

}  // namespace grove::test
