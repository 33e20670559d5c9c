// grove — TLS: contexts, cooperative TLS sockets, and TLS serving on
// StreamServer. Library `grove-tls` (OpenSSL); the core does not need it.
#pragma once

#include <grove/tls/context.hpp>
#include <grove/tls/error.hpp>
#include <grove/tls/server.hpp>
#include <grove/tls/socket.hpp>
