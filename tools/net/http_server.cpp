// http_server — a minimal HTTP/1.1 server on grove: keep-alive, pipelining
// (responses in request order, written in one batch per read), request-size
// limits (8 KiB of headers, 1 MiB of body), an idle timeout, and one small
// static response.
//
//   http_server [--host 127.0.0.1] [--port 0] [--threads 1] [--idle-timeout 30]
#include <strings.h>

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <grove/io.hpp>

#include "cli.hpp"

namespace {

constexpr const char* kUsage = "usage: http_server [--host 127.0.0.1] [--port 0] [--threads 1] [--idle-timeout 30]\n";
constexpr std::size_t kMaxHeader = 8 * 1024;
constexpr std::size_t kMaxBody = 1024 * 1024;
constexpr std::string_view kBody = "Hello, World!\n";

struct Request {
    bool keep_alive = true;
    std::size_t content_length = 0;
};

bool header_is(std::string_view line, std::string_view name) {
    return line.size() > name.size() && line[name.size()] == ':' &&
           ::strncasecmp(line.data(), name.data(), name.size()) == 0;
}

std::string_view header_value(std::string_view line, std::size_t name_len) {
    std::string_view v = line.substr(name_len + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

/// Parses the request line and the headers we care about; nullopt = malformed
/// or unsupported (chunked bodies), answered with 400 and a close.
std::optional<Request> parse(std::string_view head) {
    const auto eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) return std::nullopt;
    const std::string_view version = line.substr(sp2 + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0") return std::nullopt;
    Request r;
    r.keep_alive = version == "HTTP/1.1";
    std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
        auto next = head.find("\r\n", pos);
        if (next == std::string_view::npos) next = head.size();
        const std::string_view h = head.substr(pos, next - pos);
        pos = next + 2;
        if (header_is(h, "connection")) {
            const auto v = header_value(h, 10);
            if (::strncasecmp(v.data(), "close", v.size()) == 0 && v.size() == 5) r.keep_alive = false;
            if (::strncasecmp(v.data(), "keep-alive", v.size()) == 0 && v.size() == 10) r.keep_alive = true;
        } else if (header_is(h, "content-length")) {
            const std::string v(header_value(h, 14));
            if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 12)
                return std::nullopt;
            r.content_length = std::stoull(v);
        } else if (header_is(h, "transfer-encoding")) {
            return std::nullopt;
        }
    }
    return r;
}

void append_response(std::string& out, std::string_view status, std::string_view body, bool keep_alive) {
    out += "HTTP/1.1 ";
    out += status;
    out += "\r\nServer: grove\r\nContent-Type: text/plain\r\nContent-Length: ";
    out += std::to_string(body.size());
    out += keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
    out += body;
}

/// Handles every complete request at the front of `in`, appending responses
/// to `out`; returns how many bytes it consumed, and whether to close.
std::size_t handle_buffered(const std::string& in, std::string& out, bool& close) {
    std::size_t pos = 0;
    while (!close) {
        const auto end = in.find("\r\n\r\n", pos);
        if (end == std::string::npos) {
            if (in.size() - pos > kMaxHeader) {
                append_response(out, "431 Request Header Fields Too Large", "", false);
                close = true;
            }
            break;
        }
        if (end - pos > kMaxHeader) {
            append_response(out, "431 Request Header Fields Too Large", "", false);
            close = true;
            break;
        }
        const auto req = parse(std::string_view(in).substr(pos, end - pos));
        if (!req) {
            append_response(out, "400 Bad Request", "", false);
            close = true;
            break;
        }
        if (req->content_length > kMaxBody) {
            append_response(out, "413 Payload Too Large", "", false);
            close = true;
            break;
        }
        if (in.size() < end + 4 + req->content_length) break;  // the body is still coming
        pos = end + 4 + req->content_length;
        append_response(out, "200 OK", kBody, req->keep_alive);
        close = !req->keep_alive;
    }
    return pos;
}

void serve(grove::Socket& s, grove::Duration idle_timeout) {
    s.settimeout(idle_timeout);
    s.set_nodelay();
    std::string in;
    std::string out;
    char buf[16384];
    bool close = false;
    try {
        while (!close) {
            const std::size_t n = s.recv_into(buf, sizeof buf);
            if (n == 0) return;
            in.append(buf, n);
            out.clear();
            in.erase(0, handle_buffered(in, out, close));
            if (!out.empty()) s.sendall(out);
        }
    } catch (const grove::SocketTimeout&) {
        // Idle too long: close.
    } catch (const std::system_error&) {
        // Reset by the peer.
    }
}

}  // namespace

int main(int argc, char** argv) {
    net::Options opts(argc, argv, {{"host", "127.0.0.1"}, {"port", "0"}, {"threads", "1"}, {"idle-timeout", "30"}},
                      kUsage);
    const grove::Duration idle{opts.real("idle-timeout")};
    net::Termination termination;
    grove::ServerThreads servers(opts.address(), static_cast<std::size_t>(std::max(1L, opts.num("threads"))),
                                 [idle](grove::Socket& s, const grove::Address&) { serve(s, idle); });
    servers.start();
    net::announce(servers.address());
    termination.wait();
    servers.stop();
    return 0;
}
