// grove-tls — TlsSocket: OpenSSL driven non-blocking, waits on the hub.
//
// Every operation has one shape (Impl::drive): clear this thread's error
// queue, make the SSL_* call, and on SSL_ERROR_WANT_READ / WANT_WRITE park
// the greenlet on the fd until the call's deadline (computed once, at the
// first wait), then retry the same call. The error queue is per OS thread and
// shared by every greenlet on it, so it is read before any switch.
//
// Invariants:
//  - ssl != nullptr iff the object holds a connection; the BIO belongs to ssl;
//  - broken: a handshake, write or shutdown left OpenSSL mid-record (or the
//    handshake failed); only close/destroy are allowed afterwards;
//  - handshaken: SSL_do_handshake succeeded; recv/send run it first if not.
#include <grove/tls/socket.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>
#include <cmath>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include <grove/io/resolve.hpp>
#include <grove/io/wait.hpp>
#include <grove/timeout.hpp>

#include "bio.hpp"
#include "openssl_util.hpp"

namespace grove {
namespace {

using tls_detail::throw_tls;

bool is_ip_literal(const std::string& host) {
    unsigned char buf[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

/// Parks until `fd` is ready or `deadline` passes (SocketTimeout). Our own
/// Timeout guard bounds the wait, so its expiry is told apart exactly from an
/// outer grove::Timeout, which passes through untouched.
void wait_ready(int fd, bool for_read, const std::optional<Deadline>& deadline, const char* what) {
    if (!deadline) {
        for_read ? wait_read(fd) : wait_write(fd);
        return;
    }
    const Duration left = *deadline - grove::now();
    if (left <= Duration::zero()) throw SocketTimeout(fmt::format("grove::{}: timed out", what));
    Timeout guard(left);
    try {
        for_read ? wait_read(fd) : wait_write(fd);
    } catch (const TimeoutError& e) {
        if (!e.from(guard)) throw;
        throw SocketTimeout(fmt::format("grove::{}: timed out", what));
    }
}

}  // namespace

struct TlsSocket::Impl {
    std::shared_ptr<TlsContext::Impl> context;  // keeps the SSL_CTX and ALPN list alive
    Socket sock;
    SSL* ssl = nullptr;
    Role role = Role::client;
    std::optional<Duration> timeout;
    bool handshaken = false;
    bool broken = false;
    bool shut = false;

    ~Impl() { SSL_free(ssl); }

    void check_usable(const char* what) const {
        if (!sock) throw std::system_error(EBADF, std::system_category(), std::string("grove::") + what);
        if (broken)
            throw TlsError(std::string("grove::") + what +
                           ": the TLS stream is broken (an earlier handshake, send or shutdown failed or was "
                           "interrupted)");
    }

    /// Runs `op` until it returns > 0 (returned) or the peer closed cleanly
    /// (0, when `eof_ok`). `deadline` is shared by every retry of one call.
    template <class Op>
    int drive(const char* what, Op op, bool eof_ok) {
        std::optional<Deadline> deadline;
        bool have_deadline = false;
        for (;;) {
            ERR_clear_error();
            errno = 0;
            const int r = op();
            if (r > 0) return r;
            const int err = SSL_get_error(ssl, r);
            const int sys = errno;
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                ERR_clear_error();
                if (timeout && timeout->count() <= 0)
                    throw std::system_error(EAGAIN, std::system_category(), std::string("grove::") + what);
                if (!have_deadline) {
                    deadline = detail::deadline_after(timeout, what);
                    have_deadline = true;
                }
                wait_ready(sock.fileno(), err == SSL_ERROR_WANT_READ, deadline, what);
                continue;
            }
            if (err == SSL_ERROR_ZERO_RETURN && eof_ok) return 0;
            if (err == SSL_ERROR_SYSCALL && sys != 0) {
                ERR_clear_error();
                throw std::system_error(sys, std::system_category(), std::string("grove::") + what);
            }
            if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
                if (eof_ok && ERR_peek_error() == 0) return 0;
                throw_tls(what, "the peer closed the connection");
            }
            const long verify = SSL_get_verify_result(ssl);
            throw_tls(what, "protocol error", verify);
        }
    }

    /// Runs `f`; if it throws (error, timeout, kill), marks the stream broken.
    template <class F>
    auto committing(F f) {
        struct Mark {
            Impl& s;
            int exceptions = std::uncaught_exceptions();
            ~Mark() {
                if (std::uncaught_exceptions() > exceptions) s.broken = true;
            }
        } mark{*this};
        return f();
    }

    void handshake() {
        if (handshaken) return;
        check_usable("TlsSocket::handshake");
        committing([&] {
            return drive(
                "TlsSocket::handshake", [&] { return SSL_do_handshake(ssl); }, false);
        });
        handshaken = true;
    }
};

TlsSocket::TlsSocket() noexcept = default;
TlsSocket::TlsSocket(TlsSocket&&) noexcept = default;
TlsSocket& TlsSocket::operator=(TlsSocket&&) noexcept = default;
TlsSocket::~TlsSocket() = default;

TlsSocket::TlsSocket(Socket socket, const TlsContext& context, Role role, std::string server_hostname)
    : impl_(std::make_unique<Impl>()) {
    const auto& ctx = context.impl();
    if ((role == Role::server) != ctx->server)
        throw std::invalid_argument(role == Role::server ? "grove::TlsSocket: a server socket needs a server context"
                                                         : "grove::TlsSocket: a client socket needs a client context");
    if (role == Role::client && ctx->check_hostname && server_hostname.empty())
        throw std::invalid_argument("grove::TlsSocket: the context checks hostnames; give a server_hostname");
    if (!socket) throw std::invalid_argument("grove::TlsSocket: no socket");
    Impl& s = *impl_;
    s.context = ctx;
    s.role = role;
    s.timeout = socket.gettimeout();
    ERR_clear_error();
    s.ssl = SSL_new(ctx->ctx);
    if (!s.ssl) throw_tls("TlsSocket", "SSL_new failed");
    BIO* bio = tls_detail::new_socket_bio(socket.fileno());
    if (!bio) throw_tls("TlsSocket", "BIO_new failed");
    SSL_set_bio(s.ssl, bio, bio);  // the SSL owns the BIO from here
    if (role == Role::server) {
        SSL_set_accept_state(s.ssl);
    } else {
        SSL_set_connect_state(s.ssl);
        const bool ip = is_ip_literal(server_hostname);
        if (!server_hostname.empty() && !ip && SSL_set_tlsext_host_name(s.ssl, server_hostname.c_str()) != 1)
            throw_tls("TlsSocket", "cannot set SNI");
        if (ctx->check_hostname) {
            X509_VERIFY_PARAM* param = SSL_get0_param(s.ssl);
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_hostname.c_str())
                              : X509_VERIFY_PARAM_set1_host(param, server_hostname.c_str(), 0);
            if (ok != 1) throw_tls("TlsSocket", "bad server_hostname");
        }
    }
    s.sock = std::move(socket);
}

void TlsSocket::handshake() {
    if (!impl_) throw std::logic_error("grove::TlsSocket::handshake: no connection");
    impl_->handshake();
}

bool TlsSocket::handshake_done() const noexcept { return impl_ && impl_->handshaken; }

std::size_t TlsSocket::recv_into(void* buf, std::size_t size) {
    handshake();
    Impl& s = *impl_;
    s.check_usable("TlsSocket::recv");
    if (size == 0) return 0;
    const int n = static_cast<int>(std::min<std::size_t>(size, 1 << 30));
    return static_cast<std::size_t>(s.drive(
        "TlsSocket::recv", [&] { return SSL_read(s.ssl, buf, n); }, true));
}

std::string TlsSocket::recv(std::size_t max) {
    std::string out(max, '\0');
    out.resize(recv_into(out.data(), max));
    return out;
}

std::size_t TlsSocket::send(const void* data, std::size_t size) {
    handshake();
    Impl& s = *impl_;
    s.check_usable("TlsSocket::send");
    if (size == 0) return 0;
    const int n = static_cast<int>(std::min<std::size_t>(size, 1 << 30));
    return static_cast<std::size_t>(s.committing([&] {
        return s.drive(
            "TlsSocket::send", [&] { return SSL_write(s.ssl, data, n); }, false);
    }));
}

void TlsSocket::sendall(const void* data, std::size_t size) {
    handshake();
    Impl& s = *impl_;
    s.check_usable("TlsSocket::sendall");
    // One deadline for the whole call: the remaining time is handed to each
    // send through a temporary timeout, restored on every exit.
    const auto saved = s.timeout;
    const auto deadline = detail::deadline_after(saved, "TlsSocket::sendall");
    struct Restore {
        Impl& s;
        std::optional<Duration> t;
        ~Restore() { s.timeout = t; }
    } restore{s, saved};
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
        if (deadline && saved->count() > 0) {
            s.timeout = Duration(*deadline - grove::now());
            if (*s.timeout <= Duration::zero()) {
                s.broken = true;
                throw SocketTimeout("grove::TlsSocket::sendall: timed out");
            }
        }
        const std::size_t sent = send(p, size);
        p += sent;
        size -= sent;
    }
}

std::size_t TlsSocket::pending() const noexcept { return impl_ && impl_->ssl ? SSL_pending(impl_->ssl) : 0; }

void TlsSocket::shutdown() {
    if (!impl_) return;
    Impl& s = *impl_;
    if (!s.sock || s.broken || !s.handshaken || s.shut) return;
    s.committing([&] {
        return s.drive(
            "TlsSocket::shutdown", [&] { return SSL_shutdown(s.ssl) >= 0 ? 1 : -1; }, false);
    });
    s.shut = true;
    try {
        s.sock.shutdown(SHUT_WR);
    } catch (const std::system_error& e) {
        if (e.code().value() != ENOTCONN) throw;  // the peer already went away
    }
}

void TlsSocket::close() noexcept {
    if (impl_) impl_->sock.close();
}

void TlsSocket::settimeout(std::optional<Duration> timeout) {
    if (timeout && std::isnan(timeout->count())) throw std::invalid_argument("grove::TlsSocket::settimeout: NaN");
    if (!impl_) throw std::logic_error("grove::TlsSocket::settimeout: no connection");
    impl_->timeout = timeout;
}

std::optional<Duration> TlsSocket::gettimeout() const noexcept {
    return impl_ ? impl_->timeout : std::optional<Duration>{};
}

bool TlsSocket::is_open() const noexcept { return impl_ && impl_->sock.is_open(); }
int TlsSocket::fileno() const noexcept { return impl_ ? impl_->sock.fileno() : -1; }

Socket& TlsSocket::socket() {
    if (!impl_) throw std::logic_error("grove::TlsSocket::socket: no connection");
    return impl_->sock;
}

TlsSocket::Role TlsSocket::role() const noexcept { return impl_ ? impl_->role : Role::client; }
bool TlsSocket::broken() const noexcept { return impl_ && impl_->broken; }

std::string TlsSocket::alpn_protocol() const {
    if (!impl_ || !impl_->ssl) return {};
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(impl_->ssl, &p, &len);
    return p ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

std::string TlsSocket::version() const { return impl_ && impl_->ssl ? SSL_get_version(impl_->ssl) : ""; }

std::string TlsSocket::cipher() const {
    const char* name = impl_ && impl_->ssl ? SSL_get_cipher_name(impl_->ssl) : nullptr;
    return name ? name : "";
}

std::string TlsSocket::peer_subject() const {
    if (!impl_ || !impl_->ssl) return {};
    X509* cert = SSL_get0_peer_certificate(impl_->ssl);
    if (!cert) return {};
    char buf[512];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    return buf;
}

TlsSocket tls_connect(std::string_view host, std::uint16_t port, const TlsContext& context,
                      std::optional<Duration> timeout) {
    Socket sock = create_connection(host, port, timeout);
    TlsSocket tls(std::move(sock), context, TlsSocket::Role::client, std::string(host));
    tls.settimeout(timeout);
    tls.handshake();
    return tls;
}

}  // namespace grove
