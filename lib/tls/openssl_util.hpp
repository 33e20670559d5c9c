// grove internal — OpenSSL glue shared by the TLS sources: owned handles,
// error-queue draining, the context's private state.
#pragma once

#if !defined(GROVE_BUILDING_TLS)
#error "lib/tls/openssl_util.hpp is private to grove-tls"
#endif

#include <memory>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include <grove/tls/context.hpp>

namespace grove {

/// The state behind every copy of one TlsContext. Each TlsSocket holds a
/// shared_ptr to it, so the ALPN callback's pointer to `alpn_wire` stays valid
/// for as long as any connection made from the context.
struct TlsContext::Impl {
    explicit Impl(bool server_side);
    ~Impl();
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    SSL_CTX* ctx = nullptr;  // owned (SSL_CTX_free); SSL objects up-ref it
    bool server = false;
    TlsVerify verify = TlsVerify::none;
    bool check_hostname = false;
    std::vector<std::string> alpn;
    std::string alpn_wire;  // ALPN in wire format: length-prefixed names
};

namespace tls_detail {

/// Empties this thread's OpenSSL error queue into "reason; reason" text
/// ("" when empty). Call right after the failing call, before any switch:
/// the queue is per thread and other greenlets share it.
std::string drain_errors();

/// Throws TlsError("grove::<what>: <drained errors or fallback>", verify).
[[noreturn]] void throw_tls(const char* what, const char* fallback = "failed", long verify_code = 0);

}  // namespace tls_detail
}  // namespace grove
