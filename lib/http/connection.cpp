// grove-http — the per-connection loop.
//
//   wait_for_request ─► read_head ─► Body ─► handler ─► respond ─┐
//          ▲        (header_timeout)  (body_timeout; streamed:    │
//          │                           read by the handler)       │
//          └───────────────────── keep-alive ◄────────────────────┘
//
// Buffers: `in_` holds received bytes, `pos_` the first unconsumed one
// (pipelined requests stay there for the next turn). `out_` collects
// responses; it is flushed before any read that would wait for the peer
// (fill), so pipelined responses go out in one write and none is held back
// while we block.
#include "connection.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <exception>
#include <optional>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <grove/exceptions.hpp>
#include <grove/io/socket.hpp>
#include <grove/timeout.hpp>
#include <grove/tls/error.hpp>

#include "parser.hpp"

namespace grove::http::detail {
namespace {

constexpr int kClose = -1;  // end the connection without a response
constexpr int kMore = -2;   // read_line: the line is incomplete
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kMaxChunkLine = 1024;

/// The Date header's value, formatted once per second per thread.
const std::string& http_date() {
    thread_local std::time_t cached_at = 0;
    thread_local std::string text;
    const std::time_t now = std::time(nullptr);
    if (now != cached_at) {
        std::tm tm{};
        ::gmtime_r(&now, &tm);
        char buf[64];
        text.assign(buf, std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm));
        cached_at = now;
    }
    return text;
}

void append_number(std::string& out, std::size_t n) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.append(digits, static_cast<std::size_t>(end - digits));
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

bool has_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        std::string_view v = list.substr(0, comma);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        if (iequals(v, token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

/// A connection the client ended abnormally: counted, and one debug line.
void client_aborted(ServerShared& server, const Address& peer, std::string_view why) {
    ++server.client_aborts;
    if (const auto log = spdlog::get("grove"); log && log->should_log(spdlog::level::debug))
        log->debug("grove-http: client {} went away: {}", peer.str(), why);
}

class ChunkWriter final : public BodyWriter {
public:
    ChunkWriter(Stream& s, bool chunked, bool& client_failed) : s_(s), chunked_(chunked), failed_(client_failed) {}
    void write(std::string_view data) override {
        if (data.empty()) return;  // an empty chunk would end the body
        if (!chunked_) return send(data);
        std::string frame = fmt::format("{:x}\r\n", data.size());
        frame.append(data);
        frame.append("\r\n");
        send(frame);
    }

private:
    /// Marks client failures, so that a producer they escape from is not
    /// reported as a broken handler.
    void send(std::string_view data) {
        try {
            s_.sendall(data);
        } catch (const std::system_error&) {
            failed_ = true;
            throw;
        } catch (const TlsError&) {
            failed_ = true;
            throw;
        } catch (const SocketTimeout&) {
            failed_ = true;
            throw;
        }
    }

    Stream& s_;
    bool chunked_;
    bool& failed_;
};

class Connection {
public:
    Connection(Stream& s, const Address& peer, ServerShared& server, ConnectionSlot& slot)
        : s_(s), peer_(peer), server_(server), slot_(slot), opt_(server.options) {}

    void run() {
        while (wait_for_request()) {
            client_failed_ = false;  // a handler may have caught a failure of an earlier request's body
            Request req;
            req.peer = peer_;
            req.tls = s_.tls();
            Framing framing;
            const int status = read_head(req, framing);
            if (status == kClose) return;
            if (status != 0) return refuse(status);
            Body body(*this, framing);
            if (opt_.stream_request_bodies) {
                req.body_reader = &body;
            } else {
                try {
                    body.read_into(req.body);
                } catch (const RequestError& e) {
                    return refuse(e.status());
                }
            }
            if (!answer(req, framing, body)) return;
        }
    }

    /// The handler (or its response producer) threw, not the client's stream.
    bool handler_failed() const noexcept { return handler_failed_; }

private:
    /// The request body as the handler (or run(), for a whole body) pulls
    /// it: Content-Length or chunked framing undone, max_body_size,
    /// max_chunk_extensions and body_timeout applied. Reads from the
    /// connection's input buffer, so a streamed upload of any size holds
    /// one buffer.
    class Body final : public BodyReader {
    public:
        Body(Connection& c, const Framing& f)
            : c_(c),
              f_(f),
              done_(f.body == Framing::Body::none || (f.body == Framing::Body::length && f.length == 0)),
              remaining_(f.length) {}

        using BodyReader::read;
        std::size_t read(void* buf, std::size_t size) override {
            if (done_ || size == 0) return 0;
            if (!started_) start();
            const auto left = deadline_ ? std::optional<Duration>(*deadline_ - grove::now()) : std::nullopt;
            if (left && *left <= Duration::zero()) throw RequestError(408, "request body: body_timeout expired");
            Timeout guard(left, {}, false);  // armed only if we must wait
            try {
                c_.s_.settimeout(c_.opt_.io_timeout);
                if (f_.body == Framing::Body::chunked && !next_chunk(guard)) return 0;
                if (remaining_ == 0) {
                    done_ = true;
                    return 0;
                }
                if (c_.buffered() == 0) fill(guard);
                const std::size_t n = std::min({size, remaining_, c_.buffered()});
                std::memcpy(buf, c_.in_.data() + c_.pos_, n);
                c_.pos_ += n;
                remaining_ -= n;
                if (remaining_ == 0 && f_.body == Framing::Body::length) done_ = true;
                return n;
            } catch (const SocketTimeout&) {
                throw RequestError(408, "request body: no data for io_timeout");
            } catch (const std::system_error&) {
                c_.client_failed_ = true;  // a reset: the client's doing, even if it escapes the handler
                throw;
            } catch (const TlsError&) {
                c_.client_failed_ = true;
                throw;
            } catch (const TimeoutError& e) {
                if (!e.from(guard)) throw;
                throw RequestError(408, "request body: body_timeout expired");
            }
        }

        /// Reads the whole body into `out` (in place when its length is
        /// known; the connection's greenlet already has fill()'s 16 KiB
        /// buffer on its stack).
        void read_into(std::string& out) {
            if (f_.body == Framing::Body::length) {
                out.resize(f_.length);
                for (std::size_t at = 0; at < f_.length;) at += read(out.data() + at, f_.length - at);
                return;
            }
            char buf[4096];
            while (const std::size_t n = read(buf, sizeof buf)) out.append(buf, n);
        }

        bool started() const noexcept { return started_; }
        bool done() const noexcept { return done_; }

    private:
        void start() {
            started_ = true;
            if (c_.opt_.body_timeout)
                deadline_ = grove::now() + std::chrono::duration_cast<Clock::duration>(*c_.opt_.body_timeout);
            if (f_.expect_continue && c_.buffered() == 0) {
                c_.s_.settimeout(c_.opt_.io_timeout);
                c_.flush();
                c_.s_.sendall("HTTP/1.1 100 Continue\r\n\r\n");
            }
        }

        void fill(Timeout& guard) {
            if (!guard.pending() && deadline_) guard.start();
            if (!c_.fill()) throw RequestError(400, "request body: the client closed the connection before its end");
        }

        /// A chunk line into `out` (see read_line), reading as needed.
        void line(std::string& out, std::size_t limit, int too_long, Timeout& guard) {
            for (;;) {
                const int st = c_.read_line(out, limit, too_long);
                if (st == 0) return;
                if (st != kMore)
                    throw RequestError(
                        st, st == 431 ? "request body: trailers too large" : "request body: malformed chunk line");
                fill(guard);
            }
        }

        /// Moves to the next chunk with data when the current one is used
        /// up; false (and done) after the last chunk and the trailers.
        bool next_chunk(Timeout& guard) {
            std::string text;
            while (remaining_ == 0) {
                if (in_chunk_) line(text, 0, 400, guard);  // the CRLF after the data
                in_chunk_ = false;
                line(text, kMaxChunkLine, 400, guard);
                std::size_t size = 0, ext = 0;
                if (!parse_chunk_size(text, size, &ext)) throw RequestError(400, "request body: bad chunk size");
                extensions_ += ext;
                if (extensions_ > c_.opt_.max_chunk_extensions)
                    throw RequestError(400, "request body: chunk extensions exceed max_chunk_extensions");
                if (size == 0) {
                    for (std::size_t trailers = 0;;) {  // trailer fields are read and dropped
                        line(text, c_.opt_.max_header_size, 431, guard);
                        if (text.empty()) break;
                        trailers += text.size();
                        if (trailers > c_.opt_.max_header_size)
                            throw RequestError(431, "request body: trailers too large");
                    }
                    done_ = true;
                    return false;
                }
                if (size > c_.opt_.max_body_size - received_)
                    throw RequestError(413, "request body: larger than max_body_size");
                received_ += size;
                remaining_ = size;
                in_chunk_ = true;
            }
            return true;
        }

        Connection& c_;
        const Framing& f_;
        bool started_ = false;
        bool done_;
        bool in_chunk_ = false;     // the current chunk's data has begun
        std::size_t remaining_;     // of the body (length) or of the chunk
        std::size_t received_ = 0;  // chunk sizes so far
        std::size_t extensions_ = 0;
        std::optional<Deadline> deadline_;
    };
    std::size_t buffered() const noexcept { return in_.size() - pos_; }

    /// Receives more bytes into in_ (flushing out_ first); false on EOF.
    bool fill() {
        flush();
        // Compaction moves the unconsumed bytes to the front: every index
        // into in_ (pos_, and scan_, where the head scanner resumes) moves
        // with them.
        if (pos_ == in_.size() || pos_ > 64 * 1024) {
            in_.erase(0, pos_);
            scan_ = scan_ > pos_ ? scan_ - pos_ : 0;
            pos_ = 0;
        }
        char buf[kReadChunk];
        const std::size_t n = s_.recv_into(buf, sizeof buf);
        in_.append(buf, n);
        return n > 0;
    }

    void flush() {
        if (out_.empty()) return;
        s_.settimeout(opt_.io_timeout);
        s_.sendall(out_);
        out_.clear();
    }

    /// Keep-alive wait for a request's first byte (idle_timeout); false when
    /// the connection should end (EOF, idle, reset, server stopping).
    bool wait_for_request() {
        if (buffered() > 0) return true;  // pipelined
        flush();
        if (server_.stopping) return false;
        slot_.idle = true;
        struct Busy {
            ConnectionSlot& s;
            ~Busy() { s.idle = false; }
        } busy{slot_};
        s_.settimeout(opt_.idle_timeout);
        try {
            return fill();
        } catch (const SocketTimeout&) {
            return false;  // idle_timeout: an ordinary end
        } catch (const std::system_error& e) {
            if (!server_.stopping) client_aborted(server_, peer_, e.what());  // reset between requests
            return false;
        } catch (const TlsError& e) {
            if (!server_.stopping) client_aborted(server_, peer_, e.what());
            return false;
        }
    }

    /// Where the head ends: sets `end` (one past the last header line's
    /// "\n") and `next` (after the blank line). From `scan_` on; false when
    /// more input is needed (scan_ then remembers where to resume).
    bool find_head_end(std::size_t& end, std::size_t& next) {
        for (std::size_t i = std::max(scan_, pos_); i < in_.size(); ++i) {
            const void* nl = std::memchr(in_.data() + i, '\n', in_.size() - i);
            if (!nl) break;
            i = static_cast<std::size_t>(static_cast<const char*>(nl) - in_.data());
            if (i + 1 >= in_.size() || (in_[i + 1] == '\r' && i + 2 >= in_.size())) {
                scan_ = i;
                return false;
            }
            if (in_[i + 1] == '\n' || (in_[i + 1] == '\r' && in_[i + 2] == '\n')) {
                end = i + 1;
                next = in_[i + 1] == '\n' ? i + 2 : i + 3;
                return true;
            }
        }
        scan_ = in_.size();
        return false;
    }

    int read_head(Request& req, Framing& framing) {
        Timeout guard(opt_.header_timeout, {}, false);  // armed only if we must wait
        try {
            s_.settimeout(opt_.io_timeout);
            scan_ = pos_;
            for (;;) {
                while (pos_ < in_.size() && (in_[pos_] == '\r' || in_[pos_] == '\n')) ++pos_;
                std::size_t end = 0, next = 0;
                if (pos_ < in_.size() && find_head_end(end, next)) {
                    const std::string_view head(in_.data() + pos_, end - pos_);
                    pos_ = next;
                    return parse_request(head, opt_, req, framing);
                }
                if (std::memchr(in_.data() + pos_, '\n', buffered()) == nullptr && buffered() > opt_.max_request_line)
                    return 414;
                if (buffered() > opt_.max_request_line + opt_.max_header_size + 4) return 431;
                if (!guard.pending() && opt_.header_timeout) guard.start();
                if (!fill()) return kClose;
            }
        } catch (const SocketTimeout&) {
            return 408;
        } catch (const TimeoutError& e) {
            if (!e.from(guard)) throw;
            return 408;
        }
    }

    /// A line of a chunked body from the input (without its "\r\n");
    /// `too_long` if it exceeds `limit`; 400 if it ends in a bare "\n"
    /// (RFC 9112 §7.1 has CRLF only: a proxy that reads the line otherwise
    /// would frame the body differently); kMore when the line is not all
    /// here yet.
    int read_line(std::string& line, std::size_t limit, int too_long) {
        const void* nl = std::memchr(in_.data() + pos_, '\n', buffered());
        if (!nl) return buffered() > limit + 2 ? too_long : kMore;
        const auto at = static_cast<std::size_t>(static_cast<const char*>(nl) - in_.data());
        if (at == pos_ || in_[at - 1] != '\r') return 400;
        line.assign(in_, pos_, at - 1 - pos_);
        pos_ = at + 1;
        return line.size() > limit ? too_long : 0;
    }

    void append_head(int status, std::string_view reason, const Headers& headers) {
        // Plain appends, not fmt: formatting was a quarter of the
        // instructions per request of a small response (callgrind, #17).
        out_ += "HTTP/1.1 ";
        append_number(out_, static_cast<std::size_t>(status));
        out_ += ' ';
        out_ += reason.empty() ? reason_phrase(status) : reason;
        out_ += "\r\n";
        if (!opt_.server_name.empty() && !headers.contains("server")) append_field(out_, "Server", opt_.server_name);
        if (!headers.contains("date")) append_field(out_, "Date", http_date());
        for (const auto& [name, value] : headers)
            if (!iequals(name, "connection")) append_field(out_, name, value);
    }

    /// Calls the handler and writes its response; false: close now.
    bool answer(const Request& req, const Framing& framing, Body& body) {
        Response resp;
        try {
            resp = server_.handler(req);
        } catch (const GreenletExit&) {
            throw;
        } catch (const RequestError& e) {
            refuse(e.status());  // the streamed body was bad: the client's fault
            return false;
        } catch (...) {
            const auto error = std::current_exception();
            if (client_failed_) throw;  // the client went away while the handler read its body
            handler_failed_ = true;
            try {
                refuse(500, false);
            } catch (const std::exception&) {
            } catch (const TimeoutError&) {
            }
            std::rethrow_exception(error);  // the connection greenlet reports it
        }
        bool keep_alive = framing.keep_alive && !server_.stopping;
        if (!body.done()) {
            // A streamed body the handler left unread: skip the rest, unless
            // the client still waits for "100 Continue" (then it has not
            // sent the body, and closing is cheaper than asking for it).
            if (framing.expect_continue && !body.started()) {
                keep_alive = false;
            } else {
                try {
                    char skip[4096];
                    while (body.read(skip, sizeof skip) > 0) {
                    }
                } catch (const RequestError&) {
                    keep_alive = false;
                }
            }
        }
        if (const auto c = resp.headers.get("connection"); c && has_token(*c, "close")) keep_alive = false;
        const bool head_only = req.method == "HEAD";
        const bool bodiless = resp.status < 200 || resp.status == 204 || resp.status == 304;
        const bool streamed = resp.stream && !head_only && !bodiless;
        const bool chunked = streamed && req.version_minor == 1;
        if (streamed && !chunked) keep_alive = false;  // HTTP/1.0: the close ends the body

        append_head(resp.status, resp.reason, resp.headers);
        if (chunked) {
            out_ += "Transfer-Encoding: chunked\r\n";
        } else if (!resp.stream && !bodiless && !resp.headers.contains("content-length")) {
            out_ += "Content-Length: ";
            append_number(out_, resp.body.size());
            out_ += "\r\n";
        }
        if (!keep_alive)
            out_ += "Connection: close\r\n";
        else if (req.version_minor == 0)
            out_ += "Connection: keep-alive\r\n";
        out_ += "\r\n";

        if (streamed) {
            flush();
            ChunkWriter writer(s_, chunked, client_failed_);
            try {
                resp.stream(writer);
            } catch (...) {
                if (!client_failed_) handler_failed_ = true;  // the producer's own error: reported
                throw;
            }
            if (chunked) s_.sendall("0\r\n\r\n");
        } else {
            if (!head_only && !bodiless) out_ += resp.body;
            if (buffered() == 0 || out_.size() > 64 * 1024) flush();
        }
        if (!keep_alive) {
            flush();
            s_.finish();
        }
        return keep_alive;
    }

    /// Answers `status` with "Connection: close", then closes gracefully:
    /// shut our side and, with `drain` (the request may not have been read
    /// whole), discard what the client still sends for a moment, so that
    /// unread input does not make the kernel reset the connection and destroy
    /// the response before the client reads it.
    void refuse(int status, bool drain = true) {
        Headers h;
        h.add("Content-Type", "text/plain; charset=utf-8");
        const std::string body = fmt::format("{} {}\n", status, reason_phrase(status));
        append_head(status, {}, h);
        out_ += fmt::format("Content-Length: {}\r\nConnection: close\r\n\r\n", body.size());
        out_ += body;
        try {
            flush();
            s_.finish();
        } catch (const std::exception&) {
            return;
        } catch (const SocketTimeout&) {
            return;
        }
        if (drain) discard_input();
    }

    /// Reads and drops input until EOF, a pause of half a second, 1 MiB, or
    /// refuse_drain_timeout in all (a steady trickle must not hold the
    /// connection forever).
    void discard_input() {
        Timeout guard(opt_.refuse_drain_timeout);
        try {
            s_.settimeout(Duration{0.5});
            char buf[kReadChunk];
            for (std::size_t drained = 0; drained < (1u << 20);) {
                const std::size_t n = s_.recv_into(buf, sizeof buf);
                if (n == 0) break;
                drained += n;
            }
        } catch (const std::exception&) {
        } catch (const SocketTimeout&) {
        } catch (const TimeoutError& e) {
            if (!e.from(guard)) throw;
        }
    }

    Stream& s_;
    Address peer_;
    ServerShared& server_;
    ConnectionSlot& slot_;
    const ServerOptions& opt_;
    std::string in_;
    std::size_t pos_ = 0;
    std::size_t scan_ = 0;
    std::string out_;
    bool client_failed_ = false;   // a read or write on the client's stream threw
    bool handler_failed_ = false;  // the handler (or its producer) threw: report it
};

}  // namespace

void serve_connection(Stream& stream, const Address& peer, ServerShared& server, ConnectionSlot& slot) {
    // Outside the handler the connection only reads from and writes to the
    // client, so these errors there are the client's: a reset, a TLS error,
    // a peer that stopped reading (io_timeout). Ordinary events, not bugs.
    Connection c(stream, peer, server, slot);
    try {
        c.run();
    } catch (const std::system_error& e) {
        if (c.handler_failed()) throw;
        client_aborted(server, peer, e.what());
    } catch (const TlsError& e) {
        if (c.handler_failed()) throw;
        client_aborted(server, peer, e.what());
    } catch (const SocketTimeout&) {
        if (c.handler_failed()) throw;
        client_aborted(server, peer, "io_timeout");
    }
}

}  // namespace grove::http::detail
