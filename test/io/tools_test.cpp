// grove io — the programs in tools/net, run as subprocesses: the first line,
// a round trip, and a clean exit (status 0) on SIGTERM.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/io.hpp>

#include "io_test_util.hpp"
#include "leak_check.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;

/// A server program started with --port 0, its stdout on a pipe.
class Server {
public:
    Server(const char* env_var, std::vector<std::string> extra) {
        const char* path = std::getenv(env_var);
        if (!path) throw std::runtime_error(std::string(env_var) + " not set (run through meson test)");
        int out[2];
        if (::pipe2(out, O_CLOEXEC) < 0) throw std::system_error(errno, std::system_category(), "pipe2");
        std::vector<std::string> args{path, "--port", "0"};
        args.insert(args.end(), extra.begin(), extra.end());
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], 1);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(path, argv.data());
            ::_exit(127);
        }
        ::close(out[1]);
        stdout_ = Socket::adopt(out[0]);  // waits on a pipe work like on a socket
    }
    ~Server() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    /// The first stdout line, cooperatively read with a timeout.
    std::string first_line() {
        std::string line;
        char c;
        while (line.size() < 200) {
            wait_read(stdout_.fileno(), 5s);
            const ssize_t n = ::read(stdout_.fileno(), &c, 1);
            if (n <= 0 || c == '\n') break;
            line += c;
        }
        return line;
    }

    /// SIGTERM, then the exit status (-1 if it did not exit normally in 5 s).
    int terminate() {
        ::kill(pid_, SIGTERM);
        int status = 0;
        for (int i = 0; i < 500; ++i) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            grove::sleep(10ms);
        }
        return -1;
    }

private:
    pid_t pid_ = -1;
    Socket stdout_;
};

std::uint16_t port_of(const std::string& line) {
    const std::string prefix = "listening on 127.0.0.1:";
    if (line.rfind(prefix, 0) != 0) return 0;
    return static_cast<std::uint16_t>(std::stoi(line.substr(prefix.size())));
}

class Tools : public test::LeakChecked {};

void echo_round_trip(const char* env_var, std::vector<std::string> extra) {
    Server server(env_var, std::move(extra));
    const std::string line = server.first_line();
    const auto port = port_of(line);
    ASSERT_NE(port, 0) << "first line: '" << line << "'";
    for (int i = 0; i < 4; ++i) {
        Socket c = create_connection("127.0.0.1", port, 2s);
        c.sendall("round trip " + std::to_string(i));
        EXPECT_EQ(test::recv_exactly(c, 12), "round trip " + std::to_string(i));
    }
    EXPECT_EQ(server.terminate(), 0);
}

TEST_F(Tools, EchoServer) { echo_round_trip("GROVE_ECHO_SERVER", {}); }

TEST_F(Tools, EchoServerOnTwoThreads) { echo_round_trip("GROVE_ECHO_SERVER", {"--threads", "2"}); }

void udp_echo_round_trip(std::vector<std::string> extra) {
    Server server("GROVE_UDP_ECHO_SERVER", std::move(extra));
    const std::string line = server.first_line();
    const auto port = port_of(line);
    ASSERT_NE(port, 0) << "first line: '" << line << "'";
    for (int i = 0; i < 4; ++i) {
        Socket c(AF_INET, SOCK_DGRAM);
        c.settimeout(2s);
        c.sendto("datagram " + std::to_string(i), Address::ip("127.0.0.1", port));
        EXPECT_EQ(c.recv(100), "datagram " + std::to_string(i));
    }
    EXPECT_EQ(server.terminate(), 0);
}

TEST_F(Tools, UdpEchoServer) { udp_echo_round_trip({}); }

TEST_F(Tools, UdpEchoServerOnTwoThreads) { udp_echo_round_trip({"--threads", "2"}); }

TEST_F(Tools, RawLibevEcho) { echo_round_trip("GROVE_RAW_LIBEV_ECHO", {"--threads", "2"}); }

TEST_F(Tools, HttpServerKeepAliveAndPipelining) {
    Server server("GROVE_HTTP_SERVER", {});
    const auto port = port_of(server.first_line());
    ASSERT_NE(port, 0);
    Socket c = create_connection("127.0.0.1", port, 2s);
    const std::string req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    c.sendall(req + req + "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    const std::string all = test::recv_to_eof(c);
    std::size_t responses = 0;
    for (auto pos = all.find("HTTP/1.1 200 OK"); pos != std::string::npos; pos = all.find("HTTP/1.1 200 OK", pos + 1))
        ++responses;
    EXPECT_EQ(responses, 3u) << all;

    Socket big = create_connection("127.0.0.1", port, 2s);
    big.sendall("GET / HTTP/1.1\r\nX-Big: " + std::string(10000, 'a') + "\r\n\r\n");
    EXPECT_EQ(test::recv_to_eof(big).rfind("HTTP/1.1 431", 0), 0u);
    EXPECT_EQ(server.terminate(), 0);
}

}  // namespace
}  // namespace grove
