// grove — HTTP/1.1 messages as the server hands them to a handler: Request,
// Response, Headers, and the BodyWriter of a streaming response.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <grove/io/address.hpp>

namespace grove::http {

/// Header fields in arrival (or insertion) order; names compare without case.
/// Repeated fields stay separate entries, as received.
class Headers {
public:
    /// One field: {name, value}.
    using Field = std::pair<std::string, std::string>;

    /// The first value of `name`, or nullopt.
    std::optional<std::string_view> get(std::string_view name) const noexcept;
    /// Whether any `name` field is present.
    bool contains(std::string_view name) const noexcept { return get(name).has_value(); }
    /// Appends a field (keeps any existing ones).
    void add(std::string name, std::string value);
    /// Replaces every `name` field with one.
    void set(std::string name, std::string value);
    /// Removes every `name` field; returns how many.
    std::size_t remove(std::string_view name);

    /// The fields in order (iterators over Field), their count, whether there are none.
    /// @{
    auto begin() const noexcept { return fields_.begin(); }
    auto end() const noexcept { return fields_.end(); }
    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    /// @}

private:
    std::vector<Field> fields_;
};

/// Case-insensitive ASCII comparison (header names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;

/// What a handler pulls a streamed request body through (see
/// ServerOptions::stream_request_bodies): the body's bytes, de-chunked.
/// The first read sends "100 Continue" if the client asked for it. Reads
/// may switch; a malformed, oversized or too slow body throws RequestError
/// (let it escape the handler: the client then gets its status); a client
/// that resets throws std::system_error / TlsError. Whatever the handler
/// leaves unread is read and dropped before the response goes out.
class BodyReader {
public:
    virtual ~BodyReader() = default;
    /// Up to `size` bytes into `buf`; 0 at the end of the body.
    virtual std::size_t read(void* buf, std::size_t size) = 0;
    /// Up to `max` bytes; "" at the end of the body.
    std::string read(std::size_t max);
    /// The rest of the body (at most max_body_size bytes).
    std::string read_all();
};

/// The client sent a request the server cannot serve: `status` (400, 408,
/// 413...) says why. Thrown by BodyReader; a handler that lets it escape
/// makes the server answer `status` and close, with no error report.
class RequestError : public std::runtime_error {
public:
    /// `status` is the HTTP status to answer with, `what` the message.
    RequestError(int status, const std::string& what) : std::runtime_error(what), status_(status) {}
    /// The HTTP status the server answers with.
    int status() const noexcept { return status_; }

private:
    int status_;
};

/// One parsed request. By default the body is read completely (up to the
/// server's max_body_size, de-chunked) before the handler runs; a handler
/// therefore never blocks on the client's upload. With
/// ServerOptions::stream_request_bodies, `body` stays empty and the handler
/// reads `body_reader` instead. Valid only during the handler call.
struct Request {
    std::string method;     ///< "GET", as sent (methods are case-sensitive)
    std::string target;     ///< the request-target: "/path?query"
    std::string path;       ///< target up to '?' (not percent-decoded)
    std::string query;      ///< after '?', "" if none
    int version_minor = 1;  ///< HTTP/1.x: the x, 0 or 1
    /// The request's header fields.
    Headers headers;
    /// The whole de-chunked body ("" when streamed, see body_reader).
    std::string body;
    /// Streamed bodies only (else null): where the body is read from.
    BodyReader* body_reader = nullptr;
    /// The client's address.
    Address peer;
    bool tls = false;  ///< arrived over TLS

    /// headers.get(name): the first value of `name`, or nullopt.
    std::optional<std::string_view> header(std::string_view name) const noexcept { return headers.get(name); }
};

/// What a streaming response's producer writes through. Each write() sends
/// one HTTP chunk at once (so the client sees it immediately); it may switch,
/// throws std::system_error / SocketTimeout / TlsError if the client is gone
/// or too slow, and is interrupted by kill/Timeout like any send.
class BodyWriter {
public:
    virtual ~BodyWriter() = default;
    /// Sends `data` as one chunk (see the class comment). May switch.
    virtual void write(std::string_view data) = 0;
};

/// What a handler returns. Content-Length (or chunked framing), Date and
/// Connection are added by the server; headers set here win otherwise.
///
///   return grove::http::Response::text(200, "hello\n");
///   return grove::http::Response::streaming(200, [](grove::http::BodyWriter& w) {
///       for (int i = 0; i < 3; ++i) { w.write("tick\n"); grove::sleep(1s); }
///   });
struct Response {
    /// The HTTP status code.
    int status = 200;
    std::string reason;  ///< empty: the standard phrase for `status`
    /// Header fields to send (the server adds the framing ones).
    Headers headers;
    /// The body (ignored when `stream` is set).
    std::string body;
    /// When set, the body is produced by calling this in the connection's
    /// greenlet after the head was sent, chunked (HTTP/1.1) or close-delimited
    /// (HTTP/1.0); `body` is ignored. May block cooperatively. If it throws,
    /// the connection is aborted without the final chunk (the client sees a
    /// truncated body) and the error is reported like a handler's.
    std::function<void(BodyWriter&)> stream;

    /// `body` with Content-Type `content_type`.
    static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
    /// A streamed response: `producer` runs in the connection's greenlet and writes the
    /// body through a BodyWriter (see `stream`).
    static Response streaming(int status, std::function<void(BodyWriter&)> producer,
                              std::string content_type = "text/plain; charset=utf-8");
};

/// The standard reason phrase for `status` ("Not Found"), "Unknown" if none.
std::string_view reason_phrase(int status) noexcept;

/// Handler: called in the connection's greenlet for each request, in order;
/// free to block cooperatively (sockets, sleep, sync primitives). An exception
/// other than a kill gets a 500 response and a closed connection, then leaves
/// the connection greenlet, whose error report (grove's usual format, "...
/// failed with <type>") goes to stderr. Two exceptions are the client's
/// doing, not the handler's, and are not reported: a RequestError from the
/// body reader (the client gets its status), and a reset or TLS error the
/// body reader met (the connection just closes).
using Handler = std::function<Response(const Request&)>;

}  // namespace grove::http
