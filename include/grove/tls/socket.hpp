// grove — TlsSocket: TLS over a grove::Socket with cooperative, non-blocking
// OpenSSL I/O (gevent.ssl.SSLSocket).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <grove/duration.hpp>
#include <grove/io/socket.hpp>
#include <grove/tls/context.hpp>
#include <grove/tls/error.hpp>

namespace grove {

/// One TLS connection over a connected grove::Socket, which it owns.
/// Move-only; destroying it frees the OpenSSL state and closes the socket
/// (without close_notify: call shutdown() first for a clean close).
///
/// OpenSSL runs non-blocking; SSL_ERROR_WANT_READ / WANT_WRITE park only the
/// calling greenlet (grove::wait_read / wait_write on the fd), so a thousand
/// handshakes proceed side by side on one thread. Writes use MSG_NOSIGNAL: a
/// vanished peer is an EPIPE std::system_error, never a SIGPIPE.
///
/// Timeouts follow grove::Socket (settimeout; initialised from the wrapped
/// socket's): each call gets the whole timeout — handshake() for the whole
/// handshake, sendall() for all of its data — and throws SocketTimeout when
/// it runs out; zero or below makes calls non-blocking (std::system_error
/// EAGAIN when they would wait).
///
/// Interruption (kill, grove::Timeout, SocketTimeout, an error) never leaks
/// and never leaves a half-state that is silently reused:
///   - recv: interrupted while waiting, nothing was consumed; recv again.
///   - handshake, send/sendall, shutdown: OpenSSL may hold a partly written
///     record that cannot be taken back, so the stream is marked broken; any
///     later call except close()/destruction throws TlsError ("broken").
/// Every blocking member may switch; call them from greenlets of the thread
/// whose hub runs the socket. Protocol and certificate failures throw
/// TlsError; socket errors std::system_error.
class TlsSocket {
public:
    /// Which side of the handshake this end plays.
    enum class Role { client, server };

    /// No connection.
    TlsSocket() noexcept;
    /// Wraps `socket` (connected) for `role`. Clients pass the name they
    /// meant to reach: it is sent as SNI (unless numeric) and, when the
    /// context checks hostnames, matched against the certificate. No I/O
    /// happens here; the first recv/send handshakes implicitly, or call
    /// handshake(). std::invalid_argument if a hostname check is required and
    /// `server_hostname` is empty; TlsError if OpenSSL cannot allocate.
    TlsSocket(Socket socket, const TlsContext& context, Role role, std::string server_hostname = {});
    /// Move-only: the moved-from TlsSocket holds no connection.
    /// @{
    TlsSocket(TlsSocket&&) noexcept;
    TlsSocket& operator=(TlsSocket&&) noexcept;
    TlsSocket(const TlsSocket&) = delete;
    TlsSocket& operator=(const TlsSocket&) = delete;
    ~TlsSocket();
    /// @}

    /// Runs the TLS handshake (a no-op once done). Throws TlsError on
    /// rejection (verify_code() tells certificate failures apart),
    /// SocketTimeout, std::system_error, or the kill/Timeout exception
    /// (after which the socket is broken).
    void handshake();
    /// Whether handshake() (or the implicit one of the first recv/send) has completed.
    bool handshake_done() const noexcept;

    /// Receives up to `size` decrypted bytes; 0 means the peer closed (its
    /// close_notify, or a TCP EOF without one: ragged EOFs are treated as EOF,
    /// like Python's suppress_ragged_eofs — frame your data if truncation
    /// matters). Returns at once with buffered plaintext if any.
    std::size_t recv_into(void* buf, std::size_t size);
    /// Receives up to `max` bytes; "" means the peer closed.
    std::string recv(std::size_t max);
    /// Encrypts and sends some of `data` (at most one TLS record's worth);
    /// returns how much (at least 1 unless empty).
    /// @{
    std::size_t send(const void* data, std::size_t size);
    std::size_t send(std::string_view data) { return send(data.data(), data.size()); }
    /// @}

    /// Sends all of `data`. On timeout, kill or error the socket is broken.
    /// @{
    void sendall(const void* data, std::size_t size);
    void sendall(std::string_view data) { sendall(data.data(), data.size()); }
    /// @}

    /// Bytes of decrypted data readable without I/O.
    std::size_t pending() const noexcept;

    /// Sends close_notify (handshaking first if needed) and then shuts the
    /// TCP write side, so the peer reads EOF; does not wait for the peer's
    /// close_notify. Reads stay possible. A no-op when already shut down,
    /// broken, or never handshaken.
    void shutdown();
    /// Closes the socket at once (greenlets waiting on it get EBADF); the
    /// OpenSSL state goes with the object. Never switches; idempotent.
    void close() noexcept;

    /// The socket's own timeout, with Socket::settimeout's semantics (SocketTimeout
    /// after it); it bounds each operation, the handshake included.
    /// std::invalid_argument for NaN, std::logic_error without a connection.
    /// @{
    void settimeout(std::optional<Duration> timeout);
    std::optional<Duration> gettimeout() const noexcept;
    /// @}

    /// Whether it holds a connection (not closed, not default-constructed); `bool`: the
    /// same; fileno(): the fd, or -1.
    /// @{
    bool is_open() const noexcept;
    explicit operator bool() const noexcept { return is_open(); }
    int fileno() const noexcept;
    /// @}

    /// The underlying socket (for getpeername, setsockopt...). Reading or
    /// writing it directly corrupts the TLS stream. std::logic_error when
    /// default-constructed.
    Socket& socket();
    /// The Role given at construction.
    Role role() const noexcept;
    /// True after an interrupted handshake/send/shutdown (see above).
    bool broken() const noexcept;

    /// After the handshake: the negotiated ALPN protocol ("" if none), the
    /// protocol version ("TLSv1.3") and cipher name; the peer certificate's
    /// subject in OpenSSL's one-line form ("" without one).
    /// @{
    std::string alpn_protocol() const;
    std::string version() const;
    std::string cipher() const;
    std::string peer_subject() const;
    /// @}

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Connects to `host`:`port` (grove::create_connection), wraps the socket as
/// a client of `context` with `host` as server_hostname, and handshakes; all
/// within `timeout` each (the connect and the handshake), which also becomes
/// the socket's timeout. Throws what create_connection and handshake() throw.
TlsSocket tls_connect(std::string_view host, std::uint16_t port, const TlsContext& context,
                      std::optional<Duration> timeout = {});

}  // namespace grove
