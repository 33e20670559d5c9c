// grove internal — one HTTP/1.1 connection: read requests, call the handler,
// write responses, until the connection should close.
#pragma once

#if !defined(GROVE_BUILDING_HTTP)
#error "lib/http/connection.hpp is private to grove-http"
#endif

#include <cstddef>
#include <unordered_set>

#include <grove/http/message.hpp>
#include <grove/http/server.hpp>
#include <grove/io/address.hpp>

#include "stream.hpp"

namespace grove::http::detail {

/// A live connection as its server sees it. Lives on the connection
/// greenlet's stack; registered in ServerShared::live for its whole life.
struct ConnectionSlot {
    Stream* stream = nullptr;
    bool idle = true;  ///< waiting for a request's first byte (or handshaking)
};

/// What a server's connections share. Owned by the server's state; every
/// connection greenlet holds that state alive while it runs.
struct ServerShared {
    ServerOptions options;
    Handler handler;
    bool stopping = false;  ///< stop() began: no new requests are read
    std::unordered_set<ConnectionSlot*> live;
    std::size_t accepted = 0;
    std::size_t client_aborts = 0;  ///< see Server::client_abort_count
};

/// Serves requests on `stream` until the client closes, a limit or timeout
/// ends the connection, or the server stops. May switch. A handler's
/// exception is rethrown after the client got a 500; kill/Timeout propagate.
void serve_connection(Stream& stream, const Address& peer, ServerShared& server, ConnectionSlot& slot);

}  // namespace grove::http::detail
