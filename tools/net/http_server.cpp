// http_server — a minimal HTTP/1.1 server on grove-http: one small static
// response, keep-alive, pipelining, the library's limits (8 KiB of headers
// here, --max-body of body), an idle timeout, optionally HTTPS, optionally
// one hub per core (SO_REUSEPORT). Request bodies are streamed to the
// handler. Endpoints, so that large responses and uploads can be tried
// from outside:
//
//   /stream?bytes=N   N bytes (hex digits and newlines), chunked, in 16 KiB writes
//   /echo             the request body, back (read whole: at most --max-body)
//   /upload           "<n> bytes\n": the body is read in 16 KiB pieces, never held
//   anything else     "Hello, World!\n"
//
//   http_server [--host 127.0.0.1] [--port 0] [--threads 1] [--idle-timeout 30]
//               [--max-body 1048576] [--tls-cert cert.pem --tls-key key.pem]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <grove/http.hpp>
#include <grove/io.hpp>
#include <grove/tls.hpp>

#include "cli.hpp"

namespace {

constexpr const char* kUsage =
    "usage: grove-http-server [--host 127.0.0.1] [--port 0] [--threads 1] [--idle-timeout 30]\n"
    "                         [--max-body 1048576] [--tls-cert cert.pem --tls-key key.pem]\n";

grove::http::ServerOptions options_from(const net::Options& opts) {
    grove::http::ServerOptions o;
    o.max_header_size = 8 * 1024;
    o.max_body_size = static_cast<std::size_t>(std::max(0L, opts.num("max-body")));
    o.stream_request_bodies = true;
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

/// /stream?bytes=N: N bytes of "0123456789abcde\n" lines, written 16 KiB at
/// a time as the client takes them.
grove::http::Response stream(std::string_view query) {
    std::size_t bytes = 0;
    if (query.rfind("bytes=", 0) == 0) bytes = std::strtoull(std::string(query.substr(6)).c_str(), nullptr, 10);
    return grove::http::Response::streaming(
        200,
        [bytes](grove::http::BodyWriter& w) {
            std::string block;
            while (block.size() < 16 * 1024) block += "0123456789abcde\n";
            for (std::size_t left = bytes; left > 0;) {
                const std::size_t n = std::min(left, block.size());
                w.write(std::string_view(block).substr(0, n));
                left -= n;
            }
        },
        "application/octet-stream");
}

}  // namespace

int main(int argc, char** argv) {
    net::Options opts(argc, argv,
                      {{"host", "127.0.0.1"},
                       {"port", "0"},
                       {"threads", "1"},
                       {"idle-timeout", "30"},
                       {"max-body", "1048576"},
                       {"tls-cert", ""},
                       {"tls-key", ""}},
                      kUsage);
    auto app = [](const grove::http::Request& req) {
        if (req.path == "/stream") return stream(req.query);
        if (req.path == "/echo")
            return grove::http::Response::text(200, req.body_reader->read_all(), "application/octet-stream");
        if (req.path == "/upload") {
            std::size_t total = 0;
            char buf[16 * 1024];
            while (const std::size_t n = req.body_reader->read(buf, sizeof buf)) total += n;
            return grove::http::Response::text(200, std::to_string(total) + " bytes\n");
        }
        return grove::http::Response::text(200, "Hello, World!\n");
    };
    net::Termination termination;
    grove::ServerThreads servers(opts.address(), static_cast<std::size_t>(std::max(1L, opts.num("threads"))),
                                 grove::http::connection_handler(app, options_from(opts)));
    servers.start();
    net::announce(servers.address());
    termination.wait();
    servers.stop();
    return 0;
}
