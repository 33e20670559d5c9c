// grove-http — request-head parsing: strict where leniency enables request
// smuggling (RFC 9112 §6.3, §11.2), lenient only about line ends (bare "\n").
//
// Rejected with 400: whitespace before a header's colon, obsolete line
// folding, control characters, a Content-Length that is empty, not all
// digits or conflicts with another, Content-Length together with
// Transfer-Encoding, a Transfer-Encoding list (over all its field lines)
// that does not end in exactly one "chunked"; in chunk lines, leading
// whitespace, control characters and bare-LF line ends.
#include "parser.hpp"

#include <array>
#include <cctype>
#include <string>

namespace grove::http::detail {
namespace {

/// tchar (RFC 9110 §5.6.2) by table: the parser looks up every byte of
/// every method and field name.
constexpr auto kTchar = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = t[static_cast<std::size_t>(c - 'a' + 'A')] = true;
    for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) t[c] = true;
    return t;
}();

bool is_tchar(unsigned char c) { return kTchar[c]; }

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!is_tchar(c)) return false;
    return true;
}

/// Field values: visible characters, spaces, tabs and obs-text.
bool is_field_value(std::string_view s) {
    for (unsigned char c : s)
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// Next line of `rest` without its "\r\n" / "\n"; advances `rest`.
std::string_view next_line(std::string_view& rest) {
    const auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

/// Calls f(token) for each comma-separated element of a list header.
template <class F>
void for_each_token(std::string_view list, F f) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        f(trim(list.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
}

int parse_request_line(std::string_view line, const ServerOptions& limits, Request& out) {
    if (line.size() > limits.max_request_line) return 414;
    const auto sp1 = line.find(' ');
    const auto sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp2 == sp1) return 400;
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method) || target.empty()) return 400;
    for (unsigned char c : target)
        if (c <= 0x20 || c == 0x7f) return 400;
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" ||
        !std::isdigit(static_cast<unsigned char>(version[5])) || version[6] != '.' ||
        !std::isdigit(static_cast<unsigned char>(version[7])))
        return 400;
    if (version[5] != '1') return 505;
    out.method = method;
    out.target = target;
    const auto q = target.find('?');
    out.path = target.substr(0, q);
    out.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
    out.version_minor = version[7] == '0' ? 0 : 1;
    return 0;
}

int parse_fields(std::string_view rest, const ServerOptions& limits, Request& out) {
    if (rest.size() > limits.max_header_size) return 431;
    while (!rest.empty()) {
        const std::string_view line = next_line(rest);
        if (line.empty()) continue;
        if (line.front() == ' ' || line.front() == '\t') return 400;  // obs-fold
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) return 400;
        const std::string_view value = trim(line.substr(colon + 1));
        if (!is_field_value(value)) return 400;
        if (out.headers.size() >= limits.max_headers) return 431;
        out.headers.add(std::string(line.substr(0, colon)), std::string(value));
    }
    return 0;
}

/// Calls f(element) for each comma-separated element of `list`, empty ones
/// included ("5," is "5" and ""), each trimmed of spaces and tabs.
template <class F>
void for_each_element(std::string_view list, F f) {
    for (;;) {
        const auto comma = list.find(',');
        f(trim(list.substr(0, comma)));
        if (comma == std::string_view::npos) return;
        list.remove_prefix(comma + 1);
    }
}

/// Content-Length = 1*DIGIT (RFC 9110 §8.6). Leading zeros are valid
/// grammar; more than 18 significant digits is more than any limit.
bool parse_length(std::string_view v, std::size_t& n) {
    if (v.empty() || v.find_first_not_of("0123456789") != std::string_view::npos) return false;
    v.remove_prefix(std::min(v.find_first_not_of('0'), v.size() - 1));
    if (v.size() > 18) return false;
    n = 0;
    for (char c : v) n = n * 10 + static_cast<std::size_t>(c - '0');
    return true;
}

/// Content-Length: every field and list element must be the same number; an
/// empty field or element ("", "5,", ",5") is malformed, not absent.
int content_length(const Request& req, const ServerOptions& limits, Framing& f) {
    bool seen = false;
    bool bad = false;
    for (const auto& [name, value] : req.headers) {
        if (!iequals(name, "content-length")) continue;
        for_each_element(value, [&](std::string_view v) {
            std::size_t n = 0;
            if (!parse_length(v, n) || (seen && n != f.length)) bad = true;
            f.length = n;
            seen = true;
        });
    }
    if (bad) return 400;
    if (seen) f.body = Framing::Body::length;
    if (seen && f.length > limits.max_body_size) return 413;
    return 0;
}

int transfer_encoding(const Request& req, Framing& f) {
    // RFC 9110 §5.3: several field lines are one comma-joined list, judged
    // whole ("chunked" then "gzip" is "chunked, gzip").
    std::string te;
    bool present = false;
    bool has_length = false;
    for (const auto& [name, value] : req.headers) {
        if (iequals(name, "content-length")) has_length = true;
        if (!iequals(name, "transfer-encoding")) continue;
        if (present) te += ", ";
        te += value;
        present = true;
    }
    if (!present) return 0;
    // Smuggling shapes: Transfer-Encoding beside any Content-Length field
    // (even an empty one), or on HTTP/1.0.
    if (req.version_minor == 0 || has_length) return 400;
    int chunked = 0;
    bool last_is_chunked = false;
    bool only_chunked = true;
    bool empty = false;
    for_each_element(te, [&](std::string_view v) {
        empty = empty || v.empty();
        last_is_chunked = iequals(v, "chunked");
        chunked += last_is_chunked ? 1 : 0;
        only_chunked = only_chunked && last_is_chunked;
    });
    if (empty || !last_is_chunked || chunked > 1) return 400;  // a request body must end with one chunked
    if (!only_chunked) return 501;                             // gzip etc. before it: not implemented
    f.body = Framing::Body::chunked;
    return 0;
}

void connection_tokens(const Request& req, Framing& f) {
    f.keep_alive = req.version_minor == 1;
    for (const auto& [name, value] : req.headers) {
        if (!iequals(name, "connection")) continue;
        for_each_token(value, [&](std::string_view v) {
            if (iequals(v, "close"))
                f.keep_alive = false;
            else if (iequals(v, "keep-alive") && req.version_minor == 0)
                f.keep_alive = true;
        });
    }
}

/// RFC 9112 §3.2: HTTP/1.1 needs exactly one Host; never more than one.
bool req_has_host_problem(const Request& req) {
    std::size_t hosts = 0;
    for (const auto& field : req.headers) hosts += iequals(field.first, "host") ? 1 : 0;
    return hosts > 1 || (req.version_minor == 1 && hosts == 0);
}

}  // namespace

int parse_request(std::string_view head, const ServerOptions& limits, Request& out, Framing& framing) {
    std::string_view rest = head;
    if (int s = parse_request_line(next_line(rest), limits, out)) return s;
    if (int s = parse_fields(rest, limits, out)) return s;
    if (req_has_host_problem(out)) return 400;
    if (int s = content_length(out, limits, framing)) return s;
    if (int s = transfer_encoding(out, framing)) return s;
    connection_tokens(out, framing);
    if (const auto expect = out.header("expect")) {
        if (!iequals(*expect, "100-continue")) return 417;
        framing.expect_continue = out.version_minor == 1;
    }
    return 0;
}

bool parse_chunk_size(std::string_view line, std::size_t& size, std::size_t* extension_bytes) {
    // chunk-size [ BWS ";" chunk-ext ] (RFC 9112 §7.1): no whitespace before
    // the digits, and whitespace after them only before a ';'.
    std::size_t digits = 0;
    while (digits < line.size() && std::isxdigit(static_cast<unsigned char>(line[digits]))) ++digits;
    if (digits == 0 || digits > 10) return false;
    std::string_view ext = line.substr(digits);
    const std::string_view after_bws = trim(ext);
    if (!ext.empty() && (after_bws.empty() || after_bws.front() != ';')) return false;
    if (!is_field_value(ext)) return false;  // CR, LF, NUL, other controls
    std::size_t n = 0;
    for (unsigned char c : line.substr(0, digits))
        n = n * 16 + static_cast<std::size_t>(std::isdigit(c) ? c - '0' : std::tolower(c) - 'a' + 10);
    size = n;
    if (extension_bytes) *extension_bytes = ext.size();
    return true;
}

}  // namespace grove::http::detail
