// grove-tls — TlsContext: SSL_CTX configuration with secure client defaults.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>
#include <string>
#include <utility>

#include <grove/tls/context.hpp>

#include "openssl_util.hpp"

namespace grove {
namespace tls_detail {

std::string drain_errors() {
    std::string out;
    while (const unsigned long code = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        // "error:0A000086:SSL routines::certificate verify failed" → keep the reason.
        std::string text = buf;
        const auto colon = text.rfind(':');
        if (colon != std::string::npos) text = text.substr(colon + 1);
        if (!out.empty()) out += "; ";
        out += text;
    }
    return out;
}

void throw_tls(const char* what, const char* fallback, long verify_code) {
    std::string reason = drain_errors();
    if (reason.empty()) reason = fallback;
    if (verify_code != X509_V_OK) {
        reason += ": ";
        reason += X509_verify_cert_error_string(verify_code);
    }
    throw TlsError(std::string("grove::") + what + ": " + reason, verify_code);
}

}  // namespace tls_detail

namespace {

using tls_detail::throw_tls;

struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const noexcept { X509_free(x); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

BioPtr memory_bio(std::string_view pem, const char* what) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) throw_tls(what, "out of memory");
    return bio;
}

/// The server side of ALPN: our first protocol that the client offered.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                void* arg) {
    const auto* impl = static_cast<const TlsContext::Impl*>(arg);
    auto* server = reinterpret_cast<unsigned char*>(const_cast<char*>(impl->alpn_wire.data()));
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, outlen, server, static_cast<unsigned>(impl->alpn_wire.size()), in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

int verify_flags(TlsVerify mode, bool server) {
    switch (mode) {
        case TlsVerify::none:
            return SSL_VERIFY_NONE;
        case TlsVerify::optional:
            return SSL_VERIFY_PEER;
        case TlsVerify::required:
            return SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    }
    return SSL_VERIFY_PEER;
}

}  // namespace

TlsContext::Impl::Impl(bool server_side) : server(server_side) {
    ctx = SSL_CTX_new(server_side ? TLS_server_method() : TLS_client_method());
    if (!ctx) throw_tls("TlsContext", "SSL_CTX_new failed");
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // Partial writes and a moving buffer let send() report progress per record
    // and let sendall() retry from a different offset of the same data.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // A TCP EOF without close_notify reads as EOF (TlsSocket::recv documents it).
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
}

TlsContext::Impl::~Impl() { SSL_CTX_free(ctx); }

TlsContext TlsContext::client() {
    TlsContext c(std::make_shared<Impl>(false));
    c.set_verify(TlsVerify::required);
    c.impl_->check_hostname = true;
    c.load_default_verify_paths();
    return c;
}

TlsContext TlsContext::server() {
    TlsContext c(std::make_shared<Impl>(true));
    c.set_verify(TlsVerify::none);
    return c;
}

void TlsContext::load_cert_chain(const std::string& cert_file, const std::string& key_file) {
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(impl_->ctx, cert_file.c_str()) != 1)
        throw_tls("TlsContext::load_cert_chain", ("cannot load certificate " + cert_file).c_str());
    if (SSL_CTX_use_PrivateKey_file(impl_->ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        throw_tls("TlsContext::load_cert_chain", ("cannot load key " + key_file).c_str());
    if (SSL_CTX_check_private_key(impl_->ctx) != 1)
        throw_tls("TlsContext::load_cert_chain", "the key does not match the certificate");
}

void TlsContext::load_cert_chain_pem(std::string_view cert_pem, std::string_view key_pem) {
    constexpr const char* what = "TlsContext::load_cert_chain_pem";
    ERR_clear_error();
    BioPtr certs = memory_bio(cert_pem, what);
    X509Ptr leaf(PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr));
    if (!leaf || SSL_CTX_use_certificate(impl_->ctx, leaf.get()) != 1) throw_tls(what, "bad certificate PEM");
    SSL_CTX_clear_chain_certs(impl_->ctx);
    while (X509Ptr extra{PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)})
        if (SSL_CTX_add1_chain_cert(impl_->ctx, extra.get()) != 1) throw_tls(what, "bad chain certificate");
    ERR_clear_error();  // the loop ends on a "no start line" error
    BioPtr key_bio = memory_bio(key_pem, what);
    PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    if (!key || SSL_CTX_use_PrivateKey(impl_->ctx, key.get()) != 1) throw_tls(what, "bad private key PEM");
    if (SSL_CTX_check_private_key(impl_->ctx) != 1) throw_tls(what, "the key does not match the certificate");
}

void TlsContext::load_verify_locations(const std::string& ca_file, const std::string& ca_path) {
    if (ca_file.empty() && ca_path.empty())
        throw std::invalid_argument("grove::TlsContext::load_verify_locations: no file and no directory");
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(impl_->ctx, ca_file.empty() ? nullptr : ca_file.c_str(),
                                      ca_path.empty() ? nullptr : ca_path.c_str()) != 1)
        throw_tls("TlsContext::load_verify_locations", ("cannot load " + ca_file + ca_path).c_str());
}

void TlsContext::load_verify_pem(std::string_view ca_pem) {
    constexpr const char* what = "TlsContext::load_verify_pem";
    ERR_clear_error();
    BioPtr bio = memory_bio(ca_pem, what);
    X509_STORE* store = SSL_CTX_get_cert_store(impl_->ctx);
    int added = 0;
    while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
        if (X509_STORE_add_cert(store, cert.get()) != 1) throw_tls(what, "cannot add certificate");
        ++added;
    }
    if (added == 0) throw_tls(what, "no certificate in PEM");
    ERR_clear_error();
}

void TlsContext::load_default_verify_paths() {
    ERR_clear_error();
    if (SSL_CTX_set_default_verify_paths(impl_->ctx) != 1)
        throw_tls("TlsContext::load_default_verify_paths", "cannot load the system trust store");
}

void TlsContext::set_verify(TlsVerify mode) {
    if (mode == TlsVerify::none && impl_->check_hostname)
        throw std::logic_error(
            "grove::TlsContext::set_verify: none while check_hostname is on; "
            "set_check_hostname(false) first");
    impl_->verify = mode;
    SSL_CTX_set_verify(impl_->ctx, verify_flags(mode, impl_->server), nullptr);
}

TlsVerify TlsContext::verify() const noexcept { return impl_->verify; }

void TlsContext::set_check_hostname(bool on) {
    if (on && impl_->verify == TlsVerify::none)
        throw std::logic_error("grove::TlsContext::set_check_hostname: needs set_verify(optional or required)");
    impl_->check_hostname = on;
}

bool TlsContext::check_hostname() const noexcept { return impl_->check_hostname; }

void TlsContext::set_min_version(TlsVersion version) {
    SSL_CTX_set_min_proto_version(impl_->ctx, version == TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
}

void TlsContext::set_alpn_protocols(std::vector<std::string> protocols) {
    std::string wire;
    for (const auto& p : protocols) {
        if (p.empty() || p.size() > 255)
            throw std::invalid_argument("grove::TlsContext::set_alpn_protocols: bad protocol name '" + p + "'");
        wire += static_cast<char>(p.size());
        wire += p;
    }
    impl_->alpn = std::move(protocols);
    impl_->alpn_wire = std::move(wire);
    if (impl_->server) {
        SSL_CTX_set_alpn_select_cb(impl_->ctx, impl_->alpn.empty() ? nullptr : select_alpn, impl_.get());
    } else if (SSL_CTX_set_alpn_protos(impl_->ctx, reinterpret_cast<const unsigned char*>(impl_->alpn_wire.data()),
                                       static_cast<unsigned>(impl_->alpn_wire.size())) != 0) {
        throw_tls("TlsContext::set_alpn_protocols", "SSL_CTX_set_alpn_protos failed");
    }
}

const std::vector<std::string>& TlsContext::alpn_protocols() const noexcept { return impl_->alpn; }
bool TlsContext::is_server() const noexcept { return impl_->server; }
ssl_ctx_st* TlsContext::native_handle() const noexcept { return impl_->ctx; }

}  // namespace grove
