// grove internal — Address: sockaddr by value, numeric parsing and printing.
#include <grove/io/address.hpp>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace grove {

Address::Address() noexcept { std::memset(&storage_, 0, sizeof storage_); }

Address::Address(const sockaddr* sa, socklen_t len) : Address() {
    if (len > sizeof storage_) throw std::invalid_argument("grove::Address: sockaddr larger than sockaddr_storage");
    std::memcpy(&storage_, sa, len);
    size_ = len;
}

Address Address::ip(std::string_view host, std::uint16_t port) {
    Address a;
    const std::string h(host);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.size_ = sizeof(sockaddr_in);
        return a;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    const auto percent = h.find('%');  // "fe80::1%eth0": a scope (interface)
    if (::inet_pton(AF_INET6, h.substr(0, percent).c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        if (percent != std::string::npos) {
            const std::string scope = h.substr(percent + 1);
            v6->sin6_scope_id = ::if_nametoindex(scope.c_str());
            if (v6->sin6_scope_id == 0)
                throw std::invalid_argument(fmt::format("grove::Address::ip: unknown scope in '{}'", h));
        }
        a.size_ = sizeof(sockaddr_in6);
        return a;
    }
    throw std::invalid_argument(fmt::format("grove::Address::ip: '{}' is not a numeric IPv4/IPv6 address", h));
}

Address Address::from_path(std::string_view path) {
    Address a;
    auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
    if (path.size() >= sizeof un->sun_path)
        throw std::invalid_argument("grove::Address::from_path: path too long for sun_path");
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    // Abstract names are exactly as long as given; paths include their NUL.
    a.size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() +
                                     (!path.empty() && path[0] == '\0' ? 0 : 1));
    return a;
}

int Address::family() const noexcept { return size_ ? storage_.ss_family : AF_UNSPEC; }

std::uint16_t Address::port() const noexcept {
    switch (family()) {
        case AF_INET:
            return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
        case AF_INET6:
            return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
        default:
            return 0;
    }
}

std::string Address::host() const {
    char buf[INET6_ADDRSTRLEN] = {};
    switch (family()) {
        case AF_INET:
            ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
            return buf;
        case AF_INET6:
            ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
            return buf;
        case AF_UNIX: {
            const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
            const std::size_t n = size_ - offsetof(sockaddr_un, sun_path);
            if (n > 0 && un->sun_path[0] == '\0') return std::string(un->sun_path, n);  // abstract
            return std::string(un->sun_path, ::strnlen(un->sun_path, n));
        }
        default:
            return {};
    }
}

std::string Address::str() const {
    switch (family()) {
        case AF_INET:
            return fmt::format("{}:{}", host(), port());
        case AF_INET6:
            return fmt::format("[{}]:{}", host(), port());
        default:
            return host();
    }
}

bool operator==(const Address& a, const Address& b) noexcept {
    return a.size_ == b.size_ && std::memcmp(&a.storage_, &b.storage_, a.size_) == 0;
}

}  // namespace grove
