// echo_server — grove's echo server: a greenlet per connection, N hubs on an
// SO_REUSEPORT port. The grove side of the echo benchmark (see raw_libev_echo).
//
//   echo_server [--host 127.0.0.1] [--port 0] [--threads 1]
#include <system_error>

#include <grove/io.hpp>

#include "cli.hpp"

namespace {

constexpr const char* kUsage = "usage: grove-echo-server [--host 127.0.0.1] [--port 0] [--threads 1]\n";

void echo(grove::Socket& s, const grove::Address&) {
    char buf[65536];
    try {
        while (std::size_t n = s.recv_into(buf, sizeof buf)) s.sendall(buf, n);
    } catch (const std::system_error&) {
        // A reset connection ends its handler quietly.
    }
}

}  // namespace

int main(int argc, char** argv) {
    net::Options opts(argc, argv, {{"host", "127.0.0.1"}, {"port", "0"}, {"threads", "1"}}, kUsage);
    net::Termination termination;
    grove::ServerThreads servers(opts.address(), static_cast<std::size_t>(std::max(1L, opts.num("threads"))), echo);
    servers.start();
    net::announce(servers.address());
    termination.wait();
    servers.stop();
    return 0;
}
