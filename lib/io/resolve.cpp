// grove internal — resolve() on the thread pool (or c-ares, or inline: the
// resolver setting), create_connection().
#include <grove/io/resolve.hpp>

#include <netdb.h>

#include <exception>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

#include <grove/config.hpp>
#include <grove/io/ares.hpp>
#include <grove/io/threadpool.hpp>

namespace grove {
namespace {

/// Numeric hosts never need DNS: answer them without a thread.
std::optional<Address> numeric(std::string_view host, std::uint16_t port, int family) {
    try {
        Address a = Address::ip(host, port);
        if (family == AF_UNSPEC || family == a.family()) return a;
    } catch (const std::invalid_argument&) {
    }
    return std::nullopt;
}

std::vector<Address> getaddrinfo_blocking(const std::string& host, std::uint16_t port, int family, int socktype) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) throw ResolveError(rc, fmt::format("grove::resolve: getaddrinfo('{}'): {}", host, ::gai_strerror(rc)));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(res, &::freeaddrinfo);
    std::vector<Address> out;
    for (const addrinfo* ai = res; ai; ai = ai->ai_next) {
        Address a(ai->ai_addr, ai->ai_addrlen);
        bool seen = false;
        for (const auto& b : out) seen = seen || b == a;
        if (!seen) out.push_back(a);
    }
    return out;
}

}  // namespace

std::vector<Address> resolve(std::string_view host, std::uint16_t port, int family, int socktype) {
    if (auto a = numeric(host, port, family)) return {*a};
    const std::string& resolver = config::current().resolver;
    if (resolver == "ares") return ares::resolve(host, port, family, socktype);
    if (resolver == "block") return getaddrinfo_blocking(std::string(host), port, family, socktype);
    return get_threadpool().apply(
        [h = std::string(host), port, family, socktype] { return getaddrinfo_blocking(h, port, family, socktype); });
}

Socket create_connection(std::string_view host, std::uint16_t port, std::optional<Duration> timeout) {
    std::exception_ptr last;
    for (const Address& a : resolve(host, port)) {
        try {
            Socket s(a.family(), SOCK_STREAM);
            s.settimeout(timeout);
            s.connect(a);
            return s;
        } catch (const std::system_error&) {
            last = std::current_exception();
        } catch (const SocketTimeout&) {  // not a grove::Timeout guard's: that one passes
            last = std::current_exception();
        }
    }
    if (!last) throw ResolveError(EAI_NONAME, fmt::format("grove::create_connection: no address for '{}'", host));
    std::rethrow_exception(last);
}

}  // namespace grove
