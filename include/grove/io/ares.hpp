// grove — the c-ares resolver (gevent.resolver.ares): DNS lookups whose
// sockets are driven by the calling thread's hub, with no thread per lookup.
//
// grove::resolve() and the hooked getaddrinfo() use it when the resolver
// setting says so (GROVE_RESOLVER=ares, or config::Settings::resolver =
// "ares"); the calls here use it whatever the setting.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <grove/io/address.hpp>

namespace grove::ares {

/// Whether grove was built with c-ares (libc-ares-dev).
bool available() noexcept;

/// resolve() through c-ares: the addresses of `host`:`port` (`family`
/// AF_UNSPEC/AF_INET/AF_INET6, `socktype` SOCK_STREAM/SOCK_DGRAM), numeric
/// hosts answered at once. Names are looked up as c-ares does: /etc/hosts
/// first, then the name servers of /etc/resolv.conf (or set_servers()), with
/// its search domains, `ndots`, timeouts and attempts; nsswitch.conf, mDNS,
/// NIS and other NSS modules are not consulted (glibc's getaddrinfo does).
///
/// The lookup's sockets are waited on by the calling greenlet through its
/// hub: other greenlets run meanwhile. May switch; kill and grove::Timeout
/// interrupt it, and the c-ares query is released right there (its channel
/// destroyed: nothing is left running). Throws ResolveError (EAI_NONAME for
/// an unknown name, EAI_AGAIN when no server answered, EAI_FAIL otherwise);
/// std::logic_error when grove was built without c-ares, or from the hub.
std::vector<Address> resolve(std::string_view host, std::uint16_t port, int family = AF_UNSPEC,
                             int socktype = SOCK_STREAM);

/// The name servers of every c-ares lookup started afterwards, on any
/// thread, instead of resolv.conf's: "host[:port],..." as
/// ares_set_servers_ports_csv takes it ("127.0.0.1:5353,[::1]:53"); "" goes
/// back to resolv.conf's. std::invalid_argument if c-ares rejects it;
/// std::logic_error when grove was built without c-ares.
void set_servers(std::string_view servers);

}  // namespace grove::ares
