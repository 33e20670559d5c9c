// grove — Address: a socket address (IPv4, IPv6 or Unix path) by value.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace grove {

/// A sockaddr of any family, stored by value (sockaddr_storage). Cheap to
/// copy, comparable, never switches, usable from any thread.
///
///   auto a = grove::Address::ip("127.0.0.1", 8080);   // or "::1"
///   auto u = grove::Address::from_path("/tmp/app.sock");
///
/// Host names are not accepted here (that needs DNS): use grove::resolve.
class Address {
public:
    /// An empty address (family AF_UNSPEC, size 0).
    Address() noexcept;
    /// Copies `len` bytes of `sa` (std::invalid_argument if larger than
    /// sockaddr_storage).
    Address(const sockaddr* sa, socklen_t len);

    /// A numeric IPv4 or IPv6 host ("127.0.0.1", "::1", "fe80::1%lo") and a
    /// port. std::invalid_argument if `host` is not a numeric address.
    static Address ip(std::string_view host, std::uint16_t port);
    /// A Unix-domain address. A leading '\0' makes a Linux abstract address.
    /// std::invalid_argument if the path does not fit sun_path.
    static Address from_path(std::string_view path);

    /// AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC when empty.
    int family() const noexcept;
    /// The port (host byte order); 0 for non-IP families.
    std::uint16_t port() const noexcept;
    /// The numeric host ("127.0.0.1", "::1") or the Unix path.
    std::string host() const;
    /// "127.0.0.1:80", "[::1]:80", or the Unix path; "" when empty.
    std::string str() const;

    /// The sockaddr and its length, for passing to system calls.
    /// @{
    const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    socklen_t size() const noexcept { return size_; }
    /// @}

    /// For filling by the kernel (accept, recvfrom, getsockname): pass
    /// mutable_data() and a socklen_t set to capacity(), then resize().
    /// @{
    sockaddr* mutable_data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
    static constexpr socklen_t capacity() noexcept { return sizeof(sockaddr_storage); }
    void resize(socklen_t len) noexcept { size_ = len; }
    /// @}

    friend bool operator==(const Address& a, const Address& b) noexcept;

private:
    sockaddr_storage storage_;
    socklen_t size_ = 0;
};

}  // namespace grove
