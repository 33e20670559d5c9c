// A plain thread-per-connection echo server, as legacy code writes it: one
// std::thread per client, blocking read()/write(), a std::mutex-guarded
// client list. Not linked with grove. Run it plainly (real threads), or under
//   grove-run --green-threads thread_echo_server [PORT]
// where every std::thread is a greenlet on the main thread's hub (issue 21).
// Prints "port N" once listening; the line "stats" from a client gets
// "clients N threads T rss_kb R\n" back (the process's OS threads and RSS).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::mutex g_mutex;
std::vector<int> g_clients;  // guarded by g_mutex

/// A number from /proc/self/status ("Threads:", "VmRSS:").
long status_field(const char* field) {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
    return -1;
}

bool write_all(int fd, const char* p, size_t n) {
    while (n > 0) {
        const ssize_t w = write(fd, p, n);
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

void serve(int fd) {
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        g_clients.push_back(fd);
    }
    char buf[4096];
    for (;;) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        if (n == 6 && std::memcmp(buf, "stats\n", 6) == 0) {
            std::size_t clients;
            {
                std::lock_guard<std::mutex> lock(g_mutex);
                clients = g_clients.size();
            }
            const std::string reply = "clients " + std::to_string(clients) + " threads " +
                                      std::to_string(status_field("Threads:")) + " rss_kb " +
                                      std::to_string(status_field("VmRSS:")) + "\n";
            if (!write_all(fd, reply.data(), reply.size())) break;
            continue;
        }
        if (!write_all(fd, buf, static_cast<size_t>(n))) break;
    }
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        g_clients.erase(std::find(g_clients.begin(), g_clients.end(), fd));
    }
    close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    const int port = argc > 1 ? std::atoi(argv[1]) : 0;
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s, 4096) != 0) {
        std::perror("bind/listen");
        return 1;
    }
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    std::printf("port %d\n", ntohs(a.sin_port));
    std::fflush(stdout);
    for (;;) {
        const int c = accept(s, nullptr, nullptr);
        if (c < 0) continue;
        std::thread(serve, c).detach();
    }
}
