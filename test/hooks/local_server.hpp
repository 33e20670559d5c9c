// grove hooks tests — a real server (redis-server, memcached...) started by
// the test as a child on a free 127.0.0.1 port, killed at destruction.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "hooks_support.hpp"

namespace grove::test {

class LocalServer {
public:
    /// Runs the program named by environment variable `exe_env` with `args`,
    /// where "{port}" stands for the chosen port; waits (up to 5 s) until it
    /// accepts connections. If the variable is unset, up() stays false.
    LocalServer(const char* exe_env, std::vector<std::string> args) {
        const char* exe = std::getenv(exe_env);
        if (!exe || !*exe) return;
        const int probe = listen_loopback(&port_);
        ::close(probe);
        std::vector<char*> argv{const_cast<char*>(exe)};
        for (auto& a : args) {
            if (a == "{port}") a = std::to_string(port_);
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::execv(exe, argv.data());
            ::_exit(127);
        }
        for (int i = 0; i < 500 && !up(); ++i) ::usleep(10000);  // no hub yet: real sleeps
    }
    ~LocalServer() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    LocalServer(const LocalServer&) = delete;
    LocalServer& operator=(const LocalServer&) = delete;

    bool up() const {
        const int fd = pid_ > 0 ? connect_loopback(port_) : -1;
        if (fd >= 0) ::close(fd);
        return fd >= 0;
    }
    int port() const { return port_; }

private:
    int port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace grove::test
