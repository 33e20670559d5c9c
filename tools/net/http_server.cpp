// http_server — a minimal HTTP/1.1 server on grove-http: one small static
// response, keep-alive, pipelining, the library's limits (8 KiB of headers
// here, 1 MiB of body), an idle timeout, optionally HTTPS, optionally one
// hub per core (SO_REUSEPORT).
//
//   http_server [--host 127.0.0.1] [--port 0] [--threads 1] [--idle-timeout 30]
//               [--tls-cert cert.pem --tls-key key.pem]
#include <cstdio>
#include <optional>
#include <string>

#include <grove/http.hpp>
#include <grove/io.hpp>
#include <grove/tls.hpp>

#include "cli.hpp"

namespace {

constexpr const char* kUsage =
    "usage: http_server [--host 127.0.0.1] [--port 0] [--threads 1] [--idle-timeout 30]\n"
    "                   [--tls-cert cert.pem --tls-key key.pem]\n";

grove::http::ServerOptions options_from(const net::Options& opts) {
    grove::http::ServerOptions o;
    o.max_header_size = 8 * 1024;
    o.max_body_size = 1024 * 1024;
    o.idle_timeout = grove::Duration{opts.real("idle-timeout")};
    const std::string cert = opts.str("tls-cert");
    const std::string key = opts.str("tls-key");
    if (cert.empty() != key.empty()) {
        std::fputs("http_server: --tls-cert and --tls-key go together\n", stderr);
        std::exit(2);
    }
    if (!cert.empty()) {
        o.tls = grove::TlsContext::server();
        o.tls->load_cert_chain(cert, key);
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    net::Options opts(argc, argv,
                      {{"host", "127.0.0.1"},
                       {"port", "0"},
                       {"threads", "1"},
                       {"idle-timeout", "30"},
                       {"tls-cert", ""},
                       {"tls-key", ""}},
                      kUsage);
    auto app = [](const grove::http::Request&) { return grove::http::Response::text(200, "Hello, World!\n"); };
    net::Termination termination;
    grove::ServerThreads servers(opts.address(), static_cast<std::size_t>(std::max(1L, opts.num("threads"))),
                                 grove::http::connection_handler(app, options_from(opts)));
    servers.start();
    net::announce(servers.address());
    termination.wait();
    servers.stop();
    return 0;
}
