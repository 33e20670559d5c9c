// dns_responder — the small DNS server of grove's tests as a program, for the
// dns_mass_resolve example's smoke test: prints "listening on 127.0.0.1:PORT",
// answers host<N>.grove.test (A 10.x.y.z, AAAA fd00::N) until SIGTERM/SIGINT.
#include <csignal>
#include <cstdio>

#include <grove/grove.hpp>

#include "dns_responder.hpp"

int main() {
    grove::test::DnsResponder dns;
    std::printf("listening on %s\n", dns.address().str().c_str());
    std::fflush(stdout);
    grove::Event stop;
    auto term = grove::signal_handler(SIGTERM, [&] { stop.set(); });
    auto intr = grove::signal_handler(SIGINT, [&] { stop.set(); });
    grove::Hub::KeepAlive busy;  // signal watchers alone do not keep the hub alive
    stop.wait();
    dns.stop();
}
