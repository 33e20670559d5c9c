// grove-tls — tls_handler: TLS serving on StreamServer without touching it.
//
// The adapter runs inside the connection greenlet StreamServer spawned, so a
// slow or hostile handshake only ever blocks that greenlet; the accept loop
// never sees TLS. StreamServer still owns the raw socket's lifetime: we move
// it into the TlsSocket, which closes it when the adapter returns or unwinds.
#include <grove/tls/server.hpp>

#include <stdexcept>
#include <system_error>
#include <utility>

#include <grove/exceptions.hpp>

namespace grove {

StreamServer::Handler tls_handler(TlsContext context, TlsHandler handler, std::optional<Duration> handshake_timeout) {
    if (!context.is_server()) throw std::invalid_argument("grove::tls_handler: needs a TlsContext::server()");
    if (!handler) throw std::invalid_argument("grove::tls_handler: empty handler");
    return [context = std::move(context), handler = std::move(handler), handshake_timeout](Socket& raw,
                                                                                           const Address& peer) {
        TlsSocket tls(std::move(raw), context, TlsSocket::Role::server);
        tls.settimeout(handshake_timeout);
        try {
            tls.handshake();
        } catch (const TlsError&) {
            return;  // rejected by either side: nothing to report
        } catch (const SocketTimeout&) {
            return;  // the client connected and stalled
        } catch (const std::system_error&) {
            return;  // reset mid-handshake
        }
        tls.settimeout(std::nullopt);
        handler(tls, peer);
    };
}

}  // namespace grove
