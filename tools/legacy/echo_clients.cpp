// echo_clients PORT N [ROUNDS] — opens N concurrent connections to an echo
// server on 127.0.0.1:PORT (all connected before any request), then for
// ROUNDS rounds sends a line on each and checks its echo. One thread, poll().
// Prints the server's "stats" while all N are connected, then
// "N clients, R rounds: ok" and the request rate. Exit 1 on any mismatch.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int connect_to(int port) {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
    return s;
}

bool roundtrip(int fd, const std::string& line, std::string* reply = nullptr) {
    if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return false;
    std::string got;
    char buf[256];
    while (got.empty() || got.back() != '\n') {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) return false;
        got.append(buf, static_cast<size_t>(n));
    }
    if (reply) *reply = got;
    return reply || got == line;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    const int port = std::atoi(argv[1]);
    const int n = std::atoi(argv[2]);
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 1;
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
        const int fd = connect_to(port);
        if (fd < 0) {
            std::printf("connect %d failed: %s\n", i, std::strerror(errno));
            return 1;
        }
        fds.push_back(fd);
    }
    const auto start = std::chrono::steady_clock::now();
    // Pipelined: every client sends, then every client reads its echo.
    for (int r = 0; r < rounds; ++r) {
        for (int i = 0; i < n; ++i) {
            const std::string line = "hello " + std::to_string(i) + " " + std::to_string(r) + "\n";
            if (write(fds[i], line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
        }
        for (int i = 0; i < n; ++i) {
            const std::string line = "hello " + std::to_string(i) + " " + std::to_string(r) + "\n";
            std::string got;
            char buf[256];
            while (got.size() < line.size()) {
                const ssize_t k = read(fds[i], buf, sizeof buf);
                if (k <= 0) {
                    std::printf("client %d: connection lost\n", i);
                    return 1;
                }
                got.append(buf, static_cast<size_t>(k));
            }
            if (got != line) {
                std::printf("client %d: got %s", i, got.c_str());
                return 1;
            }
        }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string stats;
    if (!roundtrip(fds[0], "stats\n", &stats)) return 1;
    std::printf("server with all connected: %s", stats.c_str());
    std::printf("%d clients, %d rounds: ok\n", n, rounds);
    std::fprintf(stderr, "%.0f requests/s\n", n * rounds / secs);
    for (int fd : fds) close(fd);
    return 0;
}
