// Hooks: a legacy blocking echo server and client — plain POSIX code, no grove
// call inside — serving 500 concurrent connections in one thread.
#include <cstring>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>

#include "hooks_support.hpp"

namespace grove::test {
namespace {

// ---- legacy code: written as for one thread per connection ----------------

void legacy_echo_session(int fd) {
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        if (::write(fd, buf, static_cast<size_t>(n)) != n) break;
    }
    ::close(fd);
}

bool legacy_echo_client(int port, int id) {
    const int fd = connect_loopback(port);
    if (fd < 0) return false;
    bool ok = true;
    for (int round = 0; round < 3 && ok; ++round) {
        const std::string msg = "client " + std::to_string(id) + " round " + std::to_string(round) + "\n";
        ok = ::write(fd, msg.data(), msg.size()) == static_cast<ssize_t>(msg.size());
        std::string back;
        char buf[256];
        while (ok && back.size() < msg.size()) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0)
                ok = false;
            else
                back.append(buf, static_cast<size_t>(n));
        }
        ok = ok && back == msg;
    }
    ::close(fd);
    return ok;
}

// ----------------------------------------------------------------------------

using Hooks = Hooked;

TEST_F(Hooks, LegacyEchoServes500ConcurrentConnectionsInOneThread) {
    constexpr int kClients = 500;
    int port = 0;
    const int lfd = listen_loopback(&port);
    ASSERT_GE(lfd, 0);
    std::vector<Ref<GreenletBase>> sessions;
    auto server = grove::spawn([&] {
        for (int i = 0; i < kClients; ++i) {
            const int c = ::accept(lfd, nullptr, nullptr);  // hooked: waits cooperatively
            if (c < 0) break;
            sessions.push_back(grove::spawn(legacy_echo_session, c));
        }
    });
    const auto start = std::chrono::steady_clock::now();
    int ok = 0;
    std::vector<Ref<GreenletBase>> clients;
    for (int i = 0; i < kClients; ++i) clients.push_back(grove::spawn([&, i] { ok += legacy_echo_client(port, i); }));
    joinall(clients);
    server->join();
    joinall(sessions);
    print_elapsed("500 concurrent legacy echo connections", since(start));
    EXPECT_EQ(ok, kClients);
    EXPECT_EQ(static_cast<int>(sessions.size()), kClients);
    ::close(lfd);
}

}  // namespace
}  // namespace grove::test
