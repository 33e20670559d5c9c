// grove-http — Server: StreamServer underneath, connection bookkeeping for a
// graceful stop, and TLS wrapping inside each connection's greenlet.
//
// Ownership: Server → State (shared) → StreamServer. The StreamServer's
// handler holds only a weak_ptr to State (a strong one would be a cycle
// through StreamServer's own handler table); each connection greenlet locks
// it for its lifetime, so State outlives every connection that uses it.
#include <grove/http/server.hpp>

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include <grove/io/server.hpp>
#include <grove/tls/socket.hpp>

#include "connection.hpp"
#include "stream.hpp"

namespace grove::http {

struct Server::State {
    detail::ServerShared shared;
    std::unique_ptr<StreamServer> server;
};

namespace {

/// Registers `slot` in the server's live set for the scope's duration.
struct Registration {
    detail::ServerShared& shared;
    detail::ConnectionSlot& slot;
    Registration(detail::ServerShared& sh, detail::ConnectionSlot& sl) : shared(sh), slot(sl) {
        shared.live.insert(&slot);
        ++shared.accepted;
    }
    ~Registration() { shared.live.erase(&slot); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
};

void serve_plain(detail::ServerShared& shared, Socket& sock, const Address& peer) {
    sock.set_nodelay();
    detail::PlainStream stream(sock);
    detail::ConnectionSlot slot{&stream};
    Registration reg(shared, slot);
    detail::serve_connection(stream, peer, shared, slot);
}

void serve_tls(detail::ServerShared& shared, Socket& raw, const Address& peer) {
    raw.set_nodelay();
    TlsSocket tls(std::move(raw), *shared.options.tls, TlsSocket::Role::server);
    detail::TlsStream stream(tls);
    detail::ConnectionSlot slot{&stream};  // idle while handshaking: stop() may cut it
    Registration reg(shared, slot);
    tls.settimeout(shared.options.handshake_timeout);
    try {
        tls.handshake();
    } catch (const TlsError&) {
        return;  // rejected, or not TLS at all: nothing to report
    } catch (const SocketTimeout&) {
        return;
    } catch (const std::system_error&) {
        return;
    }
    detail::serve_connection(stream, peer, shared, slot);
}

/// The StreamServer handler. A template only so that it can name the
/// private Server::State through deduction.
template <class State>
StreamServer::Handler connection_handler(std::weak_ptr<State> weak) {
    return [weak](Socket& sock, const Address& peer) {
        const auto state = weak.lock();  // held for the connection's life
        if (!state) return;
        if (state->shared.options.tls)
            serve_tls(state->shared, sock, peer);
        else
            serve_plain(state->shared, sock, peer);
    };
}

/// OpenSSL's read-ahead: a record is read with one recv (and whatever
/// follows it with the same one), not a 5-byte header and then the rest.
/// That halves the recv calls per request over TLS (strace, #17); TlsSocket
/// always asks OpenSSL before waiting on the socket, so nothing read ahead
/// is ever stranded.
void read_ahead(const std::optional<TlsContext>& tls) {
    if (tls) SSL_CTX_set_read_ahead(tls->native_handle(), 1);
}

template <class State>
std::shared_ptr<State> make_state(Handler handler, ServerOptions options) {
    if (!handler) throw std::invalid_argument("grove::http::Server: empty handler");
    if (options.tls && !options.tls->is_server())
        throw std::invalid_argument("grove::http::Server: options.tls must be a TlsContext::server()");
    read_ahead(options.tls);
    auto state = std::make_shared<State>();
    state->shared.options = std::move(options);
    state->shared.handler = std::move(handler);
    return state;
}

}  // namespace

Server::Server(Address address, Handler handler, ServerOptions options, Spawner* spawner)
    : state_(make_state<State>(std::move(handler), std::move(options))) {
    state_->server = std::make_unique<StreamServer>(address, connection_handler(std::weak_ptr<State>(state_)), spawner);
}

Server::Server(Socket listener, Handler handler, ServerOptions options, Spawner* spawner)
    : state_(make_state<State>(std::move(handler), std::move(options))) {
    state_->server =
        std::make_unique<StreamServer>(std::move(listener), connection_handler(std::weak_ptr<State>(state_)), spawner);
}

Server::~Server() {
    if (state_->server->started() && !state_->shared.stopping) stop(Duration::zero());
}

void Server::start() { state_->server->start(); }

void Server::serve_forever() {
    try {
        state_->server->serve_forever();
    } catch (const GreenletExit&) {
        stop();
        throw;
    }
}

void Server::stop(std::optional<Duration> timeout) {
    auto keep = state_;  // a handler may destroy the Server while we wait
    keep->shared.stopping = true;
    // Idle keep-alive connections would otherwise sit out the whole grace:
    // shutting their TCP stream down makes their pending read return EOF.
    std::vector<detail::ConnectionSlot*> idle;
    for (auto* slot : keep->shared.live)
        if (slot->idle) idle.push_back(slot);
    for (auto* slot : idle) {
        try {
            slot->stream->tcp().shutdown(SHUT_RDWR);
        } catch (const std::exception&) {
        }
    }
    keep->server->stop(timeout);
}

namespace {

/// connection_handler's callable: copying it makes fresh bookkeeping, so each
/// thread's copy mutates only its own ServerShared.
class DetachedHandler {
public:
    DetachedHandler(Handler handler, ServerOptions options) : shared_(std::make_shared<detail::ServerShared>()) {
        shared_->options = std::move(options);
        shared_->handler = std::move(handler);
    }
    DetachedHandler(const DetachedHandler& other) : DetachedHandler(other.shared_->handler, other.shared_->options) {}
    DetachedHandler(DetachedHandler&&) noexcept = default;
    DetachedHandler& operator=(const DetachedHandler&) = delete;
    DetachedHandler& operator=(DetachedHandler&&) = delete;
    ~DetachedHandler() = default;

    void operator()(Socket& sock, const Address& peer) const {
        auto shared = shared_;  // alive for the connection even if the handler is replaced
        if (shared->options.tls)
            serve_tls(*shared, sock, peer);
        else
            serve_plain(*shared, sock, peer);
    }

private:
    std::shared_ptr<detail::ServerShared> shared_;
};

}  // namespace

StreamServer::Handler connection_handler(Handler handler, ServerOptions options) {
    if (!handler) throw std::invalid_argument("grove::http::connection_handler: empty handler");
    if (options.tls && !options.tls->is_server())
        throw std::invalid_argument("grove::http::connection_handler: options.tls must be a TlsContext::server()");
    read_ahead(options.tls);
    return DetachedHandler(std::move(handler), std::move(options));
}

Address Server::address() const { return state_->server->address(); }
std::size_t Server::connection_count() const noexcept { return state_->server->connection_count(); }
std::size_t Server::accepted_count() const noexcept { return state_->shared.accepted; }
std::size_t Server::client_abort_count() const noexcept { return state_->shared.client_aborts; }

}  // namespace grove::http
