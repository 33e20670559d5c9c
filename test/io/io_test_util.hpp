// grove io tests — small helpers shared by the io test programs.
#pragma once

#include <string>

#include <grove/io.hpp>

namespace grove::test {

/// A TCP listener on 127.0.0.1 with a kernel-chosen port.
inline Socket listen_local(int backlog = 128) {
    Socket s(AF_INET, SOCK_STREAM);
    s.set_reuseaddr();
    s.bind(Address::ip("127.0.0.1", 0));
    s.listen(backlog);
    return s;
}

/// Reads exactly `n` bytes (fewer only if the peer closes first).
inline std::string recv_exactly(Socket& s, std::size_t n) {
    std::string out;
    while (out.size() < n) {
        std::string chunk = s.recv(n - out.size());
        if (chunk.empty()) break;
        out += chunk;
    }
    return out;
}

/// Reads until the peer closes.
inline std::string recv_to_eof(Socket& s) {
    std::string out;
    for (;;) {
        std::string chunk = s.recv(65536);
        if (chunk.empty()) return out;
        out += chunk;
    }
}

/// Echoes until the peer closes.
inline void echo(Socket& s) {
    char buf[16384];
    while (std::size_t n = s.recv_into(buf, sizeof buf)) s.sendall(buf, n);
}

}  // namespace grove::test
