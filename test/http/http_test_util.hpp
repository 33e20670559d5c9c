// grove http tests — a minimal HTTP/1.1 response reader for raw sockets.
#pragma once

#include <cctype>
#include <map>
#include <string>

#include <grove/io.hpp>

namespace grove::test {

struct RawResponse {
    int status = 0;                              ///< 0: the connection closed before a status line
    std::map<std::string, std::string> headers;  ///< lower-case names
    std::string body;
};

/// Reads one response from `s` (bytes beyond it stay in `buf` for the next
/// call): Content-Length, chunked, or close-delimited bodies. `head_only` for
/// HEAD requests (no body whatever the headers say). `S`: grove::Socket or
/// grove::TlsSocket.
template <class S>
RawResponse read_response(S& s, std::string& buf, bool head_only = false) {
    auto fill = [&] {
        std::string chunk = s.recv(65536);
        buf += chunk;
        return !chunk.empty();
    };
    RawResponse r;
    std::size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos)
        if (!fill()) return r;
    const std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    r.status = std::stoi(head.substr(9, 3));
    for (std::size_t pos = head.find("\r\n"); pos != std::string::npos;) {
        const auto next = head.find("\r\n", pos + 2);
        const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
        const auto colon = line.find(':');
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = line.substr(colon + 2);
        pos = next;
    }
    if (head_only || r.status == 204 || r.status == 304 || r.status < 200) return r;
    if (r.headers.count("content-length")) {
        const std::size_t n = std::stoul(r.headers["content-length"]);
        while (buf.size() < n)
            if (!fill()) break;
        r.body = buf.substr(0, n);
        buf.erase(0, r.body.size());
    } else if (r.headers["transfer-encoding"] == "chunked") {
        for (;;) {
            std::size_t nl;
            while ((nl = buf.find("\r\n")) == std::string::npos)
                if (!fill()) return r;
            const std::size_t n = std::stoul(buf.substr(0, nl), nullptr, 16);
            while (buf.size() < nl + 2 + n + 2)
                if (!fill()) return r;
            r.body += buf.substr(nl + 2, n);
            buf.erase(0, nl + 2 + n + 2);
            if (n == 0) break;
        }
    } else {
        while (fill()) {
        }
        r.body = std::move(buf);
        buf.clear();
    }
    return r;
}

}  // namespace grove::test
