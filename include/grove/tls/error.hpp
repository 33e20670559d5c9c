// grove — TlsError: what the TLS layer throws for protocol and certificate
// failures (Python's ssl.SSLError / SSLCertVerificationError).
#pragma once

#include <stdexcept>
#include <string>

namespace grove {

/// A TLS failure: a handshake that the peer or OpenSSL rejected, a
/// certificate that did not verify, a protocol violation, or misuse of a
/// TlsSocket whose stream was broken by an interrupted operation.
///
/// what() names the grove call, then OpenSSL's reason ("certificate verify
/// failed: hostname mismatch"). verify_code() is the X509_V_* result when the
/// peer's certificate was rejected (X509_V_OK = 0 otherwise), so callers can
/// tell "untrusted" from "expired" from "wrong host" without parsing text.
/// Socket-level failures are not TlsErrors: they stay std::system_error, and
/// timeouts stay SocketTimeout / TimeoutError.
class TlsError : public std::runtime_error {
public:
    /// `what` is the message; `verify_code` the X509_V_* reason when a certificate was
    /// rejected (0 otherwise).
    explicit TlsError(const std::string& what, long verify_code = 0)
        : std::runtime_error(what), verify_code_(verify_code) {}
    /// The X509_V_* reason a certificate was rejected for; 0 for other failures.
    long verify_code() const noexcept { return verify_code_; }
    /// verify_code() != 0: the peer's certificate was rejected.
    bool verification_failed() const noexcept { return verify_code_ != 0; }

private:
    long verify_code_;
};

}  // namespace grove
