// grove hooks tests — the fixture (hooks on, leak-checked teardown) and small
// helpers for timing and loopback sockets. Helpers use plain POSIX calls, so
// they are hooked too when called inside greenlets.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <grove/monkey.hpp>

#include "leak_check.hpp"

namespace grove::test {

class Hooked : public LeakChecked {
protected:
    void SetUp() override {
        ASSERT_TRUE(monkey::hooks_interposed()) << "libgrove-hooks does not interpose libc here";
        monkey::patch_all();
    }
    void TearDown() override {
        LeakChecked::TearDown();
        monkey::unpatch_all();
    }
};

/// Seconds since `start`.
inline double since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline void print_elapsed(const char* what, double seconds) {
    std::printf("[ timing   ] %s: %.3f s\n", what, seconds);
    std::fflush(stdout);
}

/// A listening TCP socket on 127.0.0.1 with a kernel-chosen port.
inline int listen_loopback(int* port, int backlog = 1024) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0) {
        ::close(fd);
        return -1;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    *port = ntohs(a.sin_port);
    return fd;
}

/// A blocking TCP connection to 127.0.0.1:port, or -1.
inline int connect_loopback(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace grove::test
