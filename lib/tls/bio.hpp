// grove internal — a socket BIO that sends with MSG_NOSIGNAL.
#pragma once

#if !defined(GROVE_BUILDING_TLS)
#error "lib/tls/bio.hpp is private to grove-tls"
#endif

#include <openssl/bio.h>

namespace grove::tls_detail {

/// A source/sink BIO on non-blocking `fd` (not owned: the TlsSocket's Socket
/// owns it). Like OpenSSL's socket BIO, except that writes use send(2) with
/// MSG_NOSIGNAL — a reset peer is EPIPE, not a process-killing SIGPIPE — and
/// EAGAIN sets the retry flags, which OpenSSL turns into SSL_ERROR_WANT_*.
/// Returns nullptr when out of memory.
BIO* new_socket_bio(int fd);

}  // namespace grove::tls_detail
