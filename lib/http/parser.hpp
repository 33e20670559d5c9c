// grove internal — HTTP/1.1 request-head parsing and body framing (pure
// functions: no I/O, no switching).
#pragma once

#if !defined(GROVE_BUILDING_HTTP)
#error "lib/http/parser.hpp is private to grove-http"
#endif

#include <cstddef>
#include <string_view>

#include <grove/http/message.hpp>
#include <grove/http/server.hpp>

namespace grove::http::detail {

/// How the request's body is delimited, and what the connection does next.
struct Framing {
    enum class Body { none, length, chunked } body = Body::none;
    std::size_t length = 0;        ///< for Body::length
    bool keep_alive = true;        ///< the client allows another request
    bool expect_continue = false;  ///< "Expect: 100-continue" on HTTP/1.1
};

/// Parses `head` (request line and header lines, each ending in "\n" or
/// "\r\n", without the blank line) into `out`, then derives `framing`.
/// Returns 0, or the status to answer with before closing: 400 malformed,
/// 414 request line too long, 431 header limits, 505 version, 501 unknown
/// transfer coding, 417 unknown expectation, 413 declared body too large.
int parse_request(std::string_view head, const ServerOptions& limits, Request& out, Framing& framing);

/// Parses a chunk-size line (without its "\r\n"): hex digits, then
/// optionally whitespace and ";extensions" (sets `extension_bytes` to the
/// length of that tail). Returns false when malformed (leading whitespace,
/// control characters in an extension) or over 2^40.
bool parse_chunk_size(std::string_view line, std::size_t& size, std::size_t* extension_bytes = nullptr);

}  // namespace grove::http::detail
