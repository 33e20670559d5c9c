// grove — TlsContext: certificates, trust and protocol settings shared by many
// TLS connections (Python's ssl.SSLContext, OpenSSL's SSL_CTX).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <grove/tls/error.hpp>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX; OpenSSL headers stay out of grove's

namespace grove {

/// Lowest protocol version a context accepts.
enum class TlsVersion { tls1_2, tls1_3 };

/// Whether the peer must present a certificate, and whether it is checked.
///   none      do not ask for / do not verify the peer's certificate
///   optional  verify it if presented (servers: ask but do not require)
///   required  the peer must present a certificate that verifies
enum class TlsVerify { none, optional, required };

/// Certificates, trust anchors and protocol settings for TLS connections, as
/// a cheap shared handle: copies refer to the same context, and every
/// TlsSocket keeps its context alive. Configure it first, then share it;
/// changing it while connections use it affects only later connections.
/// Never switches; thread-safe to *use* from several threads once configured
/// (OpenSSL's SSL_CTX rules), not to configure concurrently.
///
/// Secure by default, as Python's ssl.create_default_context():
///   TlsContext::client()  verify = required, check_hostname = true, the
///                         system trust store loaded, TLS 1.2 minimum;
///   TlsContext::server()  verify = none (no client certificates), TLS 1.2
///                         minimum; load_cert_chain() before serving.
/// Turning verification off is explicit: set_verify(TlsVerify::none) and
/// set_check_hostname(false).
///
/// Every loader throws TlsError naming the call and OpenSSL's reason (a
/// missing file, a key that does not match the certificate, bad PEM).
class TlsContext {
public:
    /// A client context (verify = required, check_hostname, the system trust store, TLS
    /// 1.2 minimum); a server context (verify = none, TLS 1.2 minimum). See the class
    /// comment. TlsError if OpenSSL cannot allocate.
    /// @{
    static TlsContext client();
    static TlsContext server();
    /// @}

    /// The server's (or client's) own certificate chain and private key.
    /// PEM files: the certificate first, then intermediates. The key must
    /// match the leaf (checked here).
    void load_cert_chain(const std::string& cert_file, const std::string& key_file);
    /// The same from PEM text in memory.
    void load_cert_chain_pem(std::string_view cert_pem, std::string_view key_pem);

    /// Adds trust anchors: a PEM bundle file and/or a hashed directory (either
    /// may be empty, not both).
    void load_verify_locations(const std::string& ca_file, const std::string& ca_path = {});
    /// Adds trust anchors from PEM text (one or more certificates).
    void load_verify_pem(std::string_view ca_pem);
    /// Adds the system's default trust store (client() already did).
    void load_default_verify_paths();

    /// Whether to ask for and verify the peer's certificate (see TlsVerify); verify()
    /// returns it. TlsVerify::none while check_hostname() is on: std::logic_error (call
    /// set_check_hostname(false) first).
    /// @{
    void set_verify(TlsVerify mode);
    TlsVerify verify() const noexcept;
    /// @}

    /// Clients: compare the server's certificate with the server_hostname
    /// given to the socket (DNS name or IP address). Default true for
    /// client(); turning it on requires verify != none (std::logic_error).
    void set_check_hostname(bool on);
    /// Whether hostnames are checked (see set_check_hostname()).
    bool check_hostname() const noexcept;
    /// The lowest protocol version accepted (TlsVersion::tls1_2 by default).
    void set_min_version(TlsVersion version);

    /// ALPN protocols in preference order ("h2", "http/1.1"). Clients offer
    /// them; servers pick their first one that the client offered (no match:
    /// no protocol is selected, the handshake continues).
    /// std::invalid_argument for an empty name or one over 255 bytes.
    void set_alpn_protocols(std::vector<std::string> protocols);
    /// The protocols set by set_alpn_protocols().
    const std::vector<std::string>& alpn_protocols() const noexcept;

    /// Whether it was made by server().
    bool is_server() const noexcept;
    /// The SSL_CTX, for settings grove does not wrap (ciphers, session cache).
    ssl_ctx_st* native_handle() const noexcept;

    struct Impl;
    /// For TlsSocket: the shared state (never null).
    const std::shared_ptr<Impl>& impl() const noexcept { return impl_; }

private:
    explicit TlsContext(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<Impl> impl_;
};

}  // namespace grove
