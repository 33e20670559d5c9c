// grove internal — the byte stream an HTTP connection runs on: a plain
// grove::Socket or a TlsSocket, behind one small interface.
#pragma once

#if !defined(GROVE_BUILDING_HTTP)
#error "lib/http/stream.hpp is private to grove-http"
#endif

#include <sys/socket.h>

#include <cstddef>
#include <exception>
#include <optional>
#include <string_view>

#include <grove/duration.hpp>
#include <grove/io/socket.hpp>
#include <grove/tls/socket.hpp>

namespace grove::http::detail {

/// Blocking members may switch and throw what the socket throws.
class Stream {
public:
    virtual ~Stream() = default;
    virtual std::size_t recv_into(void* buf, std::size_t size) = 0;
    virtual void sendall(std::string_view data) = 0;
    virtual void settimeout(std::optional<Duration> timeout) = 0;
    /// Best effort: close_notify (TLS) and the TCP write side shut, so the
    /// client reads EOF after the last response. Errors are ignored; a kill
    /// or a grove::Timeout still propagates.
    virtual void finish() = 0;
    /// The TCP socket underneath (Server::stop shuts idle ones down).
    virtual Socket& tcp() = 0;
    virtual bool tls() const noexcept = 0;
};

class PlainStream final : public Stream {
public:
    explicit PlainStream(Socket& s) : s_(s) {}
    std::size_t recv_into(void* buf, std::size_t size) override { return s_.recv_into(buf, size); }
    void sendall(std::string_view data) override { s_.sendall(data); }
    void settimeout(std::optional<Duration> timeout) override { s_.settimeout(timeout); }
    void finish() override {
        try {
            s_.shutdown(SHUT_WR);
        } catch (const std::exception&) {
        }
    }
    Socket& tcp() override { return s_; }
    bool tls() const noexcept override { return false; }

private:
    Socket& s_;
};

class TlsStream final : public Stream {
public:
    explicit TlsStream(TlsSocket& s) : s_(s) {}
    std::size_t recv_into(void* buf, std::size_t size) override { return s_.recv_into(buf, size); }
    void sendall(std::string_view data) override { s_.sendall(data); }
    void settimeout(std::optional<Duration> timeout) override { s_.settimeout(timeout); }
    void finish() override {
        try {
            s_.shutdown();
        } catch (const std::exception&) {
        } catch (const SocketTimeout&) {
        }
    }
    Socket& tcp() override { return s_.socket(); }
    bool tls() const noexcept override { return true; }

private:
    TlsSocket& s_;
};

}  // namespace grove::http::detail
