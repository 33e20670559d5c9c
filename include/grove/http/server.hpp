// grove — http::Server: an HTTP/1.1 server (plain or TLS) on StreamServer,
// a greenlet per connection (gevent.pywsgi.WSGIServer in C++).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include <grove/duration.hpp>
#include <grove/http/message.hpp>
#include <grove/io/address.hpp>
#include <grove/io/server.hpp>
#include <grove/io/socket.hpp>
#include <grove/spawner.hpp>
#include <grove/tls/context.hpp>

namespace grove::http {

/// Limits and timeouts. Each limit answers with a 4xx and a closed
/// connection, never a crash or an unbounded buffer.
struct ServerOptions {
    /// Request line ("GET /x HTTP/1.1") longer than this: 414.
    std::size_t max_request_line = 8 * 1024;
    /// All header lines together longer than this: 431.
    std::size_t max_header_size = 16 * 1024;
    /// More header fields than this: 431.
    std::size_t max_headers = 100;
    /// A body (Content-Length or de-chunked) larger than this: 413.
    std::size_t max_body_size = 1024 * 1024;
    /// A keep-alive connection with no new request for this long is closed
    /// (quietly). Empty: never.
    std::optional<Duration> idle_timeout = Duration{60};
    /// From a request's first byte until its headers are complete. The
    /// slowloris guard: a client trickling a header byte by byte is cut off
    /// (408, then close) however steadily it sends. Empty: never.
    std::optional<Duration> header_timeout = Duration{10};
    /// Per read of a body and per response write (a stalled peer). Empty: never.
    std::optional<Duration> io_timeout = Duration{30};
    /// From a request body's first read until its end: a client trickling
    /// its body is cut off (408, then close) however steadily it sends.
    /// With stream_request_bodies the clock runs while the handler reads.
    /// Empty: never.
    std::optional<Duration> body_timeout = Duration{60};
    /// The chunk extensions (";name=value" after a chunk size) of one
    /// chunked body together longer than this: 400. They are parsed and
    /// dropped, but each byte costs a read.
    std::size_t max_chunk_extensions = 16 * 1024;
    /// After a refusal (4xx, then close) the server discards what the client
    /// still sends, so that unread input does not make the kernel reset the
    /// connection before the client has read the answer; this long at most,
    /// however steadily the client keeps sending.
    Duration refuse_drain_timeout = Duration{1};
    /// Hand request bodies to the handler as a stream (Request::body_reader)
    /// instead of reading them whole into Request::body first, so that an
    /// upload holds one read buffer per connection, whatever its size (like
    /// pywsgi's wsgi.input). max_body_size and body_timeout still apply.
    bool stream_request_bodies = false;
    /// TLS only: the handshake must finish within this. Empty: never.
    std::optional<Duration> handshake_timeout = Duration{10};
    /// Serve HTTPS with this context (a TlsContext::server() with a
    /// certificate). Empty: plain HTTP. The server turns OpenSSL's
    /// read-ahead on in it (one recv per TLS record instead of two).
    std::optional<TlsContext> tls;
    /// Value of the Server header; empty: none is sent.
    std::string server_name = "grove";
};

/// HTTP/1.1 server. Each connection runs in its own greenlet (through
/// `spawner` when given, e.g. a grove::Pool to bound concurrency); TLS
/// handshakes run there too, never in the accept loop. Requests on a
/// connection are handled one at a time, in order (pipelined requests are
/// answered in order; responses to requests already buffered are written in
/// one batch). Supports keep-alive (HTTP/1.1 default; HTTP/1.0 on
/// "Connection: keep-alive"), Content-Length and chunked request bodies,
/// "Expect: 100-continue", streaming chunked responses, HEAD.
///
/// Malformed requests get 400 (414/431/413/505/501/417 where they apply) and
/// a closed connection. Use it from one thread; construct, start and stop
/// it from greenlets of that thread.
class Server {
public:
    /// Serves `handler` on `address`, bound at start() (port 0 picks a free port: see
    /// address()). Connection greenlets go through `spawner` when given (a Pool bounds
    /// them), as with StreamServer. Never switches.
    Server(Address address, Handler handler, ServerOptions options = {}, Spawner* spawner = nullptr);
    /// Serves on an already bound socket (listen() is called at start()).
    Server(Socket listener, Handler handler, ServerOptions options = {}, Spawner* spawner = nullptr);
    /// stop(0) if still serving. May switch.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds (if needed), listens and starts accepting; returns at once, never
    /// switches. std::system_error if bind/listen fail.
    void start();
    /// start(), then blocks the calling greenlet until stop() (from another
    /// greenlet). Killing the caller stops the server first.
    void serve_forever();
    /// Graceful stop: stops accepting, closes connections that are idle
    /// between requests at once, lets requests in progress finish (their
    /// responses carry "Connection: close") for up to `timeout`, then kills
    /// what is left. May switch; idempotent; a handler may call it.
    void stop(std::optional<Duration> timeout = Duration{5});

    /// The bound address (the real port after start() with port 0).
    Address address() const;
    /// Connections currently open (including ones still handshaking).
    std::size_t connection_count() const noexcept;
    /// Connections accepted since start (for tests and stats).
    std::size_t accepted_count() const noexcept;
    /// Connections the client ended abnormally since start: a reset
    /// (between requests, mid-request, or with responses still to write), a TLS error after
    /// the handshake, or a read or write that hit io_timeout. Ordinary
    /// events for a server: they are counted and logged at debug level
    /// only, never reported as errors.
    std::size_t client_abort_count() const noexcept;

private:
    struct State;
    std::shared_ptr<State> state_;
};

/// The per-connection HTTP logic as a StreamServer::Handler, for servers that
/// http::Server does not manage — notably grove::ServerThreads (one hub per
/// core, SO_REUSEPORT):
///
///   grove::ServerThreads servers(addr, 4, grove::http::connection_handler(app, options));
///
/// Every copy of the returned handler gets its own connection bookkeeping
/// (ServerThreads copies it once per thread), so copies may serve on
/// different threads; `handler` itself is copied along, so any state it
/// shares between threads must be thread-safe. There is no graceful stop
/// here: the StreamServer's stop(timeout) lets connections finish within
/// the grace, then kills them.
StreamServer::Handler connection_handler(Handler handler, ServerOptions options = {});

}  // namespace grove::http
