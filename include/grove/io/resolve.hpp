// grove — name resolution and client connections (gevent.socket's
// getaddrinfo and create_connection).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <grove/duration.hpp>
#include <grove/io/address.hpp>
#include <grove/io/socket.hpp>

namespace grove {

/// A getaddrinfo(3) failure (Python's socket.gaierror): code() is the EAI_*
/// value, what() names the call, the host and gai_strerror's text.
class ResolveError : public std::runtime_error {
public:
    /// `code` is the EAI_* value, `what` the message.
    ResolveError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    /// The EAI_* value (EAI_NONAME, EAI_AGAIN...).
    int code() const noexcept { return code_; }

private:
    int code_;
};

/// The addresses of `host`:`port`, in getaddrinfo's order (AI_ADDRCONFIG;
/// `family` AF_UNSPEC/AF_INET/AF_INET6, `socktype` SOCK_STREAM/SOCK_DGRAM).
/// A numeric host ("127.0.0.1", "::1") is answered at once without a thread;
/// any other name runs getaddrinfo on get_threadpool(), so DNS never blocks
/// the hub: the calling greenlet waits cooperatively. May switch; kill and
/// grove::Timeout interrupt it (the lookup finishes on its thread and is
/// dropped). Throws ResolveError. Call from a greenlet (not the hub).
std::vector<Address> resolve(std::string_view host, std::uint16_t port, int family = AF_UNSPEC,
                             int socktype = SOCK_STREAM);

/// Connects a TCP socket to `host`:`port`, trying every resolved address in
/// turn (each attempt gets the whole `timeout`); returns the first that
/// connects, with `timeout` set as its socket timeout. If all fail, rethrows
/// the last attempt's error (std::system_error or SocketTimeout); ResolveError
/// if the name does not resolve. May switch; kill/Timeout interrupt it.
Socket create_connection(std::string_view host, std::uint16_t port, std::optional<Duration> timeout = {});

}  // namespace grove
