// grove — serving TLS with StreamServer: the handshake runs in each
// connection's greenlet, never in the accept loop.
#pragma once

#include <functional>
#include <optional>

#include <grove/duration.hpp>
#include <grove/io/address.hpp>
#include <grove/io/server.hpp>
#include <grove/tls/context.hpp>
#include <grove/tls/socket.hpp>

namespace grove {

/// What a TLS connection handler receives: the handshaken socket and the peer.
using TlsHandler = std::function<void(TlsSocket&, const Address&)>;

/// Adapts `handler` into a StreamServer::Handler that serves TLS with
/// `context` (a TlsContext::server() with a certificate loaded):
///
///   grove::StreamServer server(addr, grove::tls_handler(ctx, [](grove::TlsSocket& s, const grove::Address&) {
///       s.sendall("hello over TLS\n");
///       s.shutdown();
///   }));
///
/// In each connection's greenlet it wraps the accepted socket, handshakes
/// within `handshake_timeout` (empty: no limit; a client that connects and
/// sends nothing is dropped when it runs out), then calls `handler` with the
/// socket's timeout reset to none. A failed or timed-out handshake closes the
/// connection quietly (a TLS server sees those all the time; nothing is
/// reported); errors escaping `handler` are reported like any handler's.
/// Kill (StreamServer::stop) interrupts the handshake like any wait.
/// std::invalid_argument if `context` is not a server context.
StreamServer::Handler tls_handler(TlsContext context, TlsHandler handler,
                                  std::optional<Duration> handshake_timeout = Duration{10});

}  // namespace grove
