// udp_echo_server — grove's UDP echo server: a greenlet per datagram, replies
// through the server's socket; N hubs on one SO_REUSEPORT port.
//
//   udp_echo_server [--host 127.0.0.1] [--port 0] [--threads 1]
#include <grove/io.hpp>

#include "cli.hpp"

namespace {

constexpr const char* kUsage = "usage: grove-udp-echo-server [--host 127.0.0.1] [--port 0] [--threads 1]\n";

void echo(grove::DatagramServer& server, const std::string& data, const grove::Address& from) {
    server.sendto(data, from);
}

}  // namespace

int main(int argc, char** argv) {
    net::Options opts(argc, argv, {{"host", "127.0.0.1"}, {"port", "0"}, {"threads", "1"}}, kUsage);
    net::Termination termination;
    grove::DatagramServerThreads servers(opts.address(), static_cast<std::size_t>(std::max(1L, opts.num("threads"))),
                                         echo);
    servers.start();
    net::announce(servers.address());
    termination.wait();
    servers.stop();
    return 0;
}
