// grove-hooks — getaddrinfo, getnameinfo, gethostbyname on the ThreadPool
// (getaddrinfo through c-ares with GROVE_RESOLVER=ares, inline with =block).
//
// glibc's resolver makes its socket and poll calls internally, out of any
// hook's reach (docs/design.md, "What the hooks never see"), so a cooperative
// caller hands the whole call to grove::get_threadpool() and waits for it. Each job owns copies of its
// arguments and returns owned results: a caller that is killed or timed out
// leaves, and the job's late result is freed with the job's state.
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grove/config.hpp>
#include <grove/io/resolve.hpp>
#include <grove/io/threadpool.hpp>

#include "io/ares_lookup.hpp"
#include "real.hpp"
#include "state.hpp"

namespace grove::hooks {
namespace {

struct FreeAddrinfo {
    void operator()(addrinfo* a) const noexcept {
        if (a) real::freeaddrinfo(a);
    }
};

struct AiResult {
    int rc = 0;
    int err = 0;
    std::unique_ptr<addrinfo, FreeAddrinfo> list;
};

struct NameResult {
    int rc = 0;
    int err = 0;
    std::string host, serv;
};

/// gethostbyname's answer: `h` points into `buf` (moves keep the heap block).
struct HostResult {
    hostent h{};
    std::vector<char> buf;
    int herr = 0;
    bool found = false;
};

thread_local HostResult t_host;  // gethostbyname's static result, per thread

std::optional<std::string> copy(const char* s) { return s ? std::optional<std::string>(s) : std::nullopt; }
const char* c_str(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }

/// Runs `job` on the pool; on interruption sets errno and returns nullopt.
template <class Job>
auto on_pool(Job&& job) -> std::optional<decltype(job())> {
    try {
        return get_threadpool().apply(std::forward<Job>(job));
    } catch (...) {
        errno = interrupted();
        return std::nullopt;
    }
}

HostResult lookup_host(const std::string& name) {
    HostResult r;
    r.buf.resize(4096);
    for (;;) {
        hostent* out = nullptr;
        const int e = gethostbyname_r(name.c_str(), &r.h, r.buf.data(), r.buf.size(), &out, &r.herr);
        if (e == ERANGE && r.buf.size() < (1u << 20)) {
            r.buf.resize(r.buf.size() * 2);
            continue;
        }
        r.found = e == 0 && out != nullptr;
        return r;
    }
}

/// GROVE_RESOLVER=ares: the lookup through c-ares in this greenlet, its
/// answer as a list the caller frees with glibc's freeaddrinfo, which frees
/// each node and its ai_canonname with free(): so each node is one malloc'd
/// block holding the addrinfo and its sockaddr, as glibc's own nodes are.
int getaddrinfo_ares(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
    detail::AresAnswer answer;
    try {
        answer =
            detail::ares_lookup(node, service, hints ? hints->ai_family : AF_UNSPEC, hints ? hints->ai_socktype : 0,
                                hints ? hints->ai_protocol : 0, hints ? hints->ai_flags : 0);
    } catch (const ResolveError& e) {
        return e.code();
    } catch (...) {
        errno = interrupted();
        return EAI_SYSTEM;
    }
    if (answer.eai != 0) return answer.eai;
    addrinfo* head = nullptr;
    addrinfo** tail = &head;
    for (const auto& n : answer.nodes) {
        auto* ai = static_cast<addrinfo*>(calloc(1, sizeof(addrinfo) + n.address.size()));
        if (!ai) {
            real::freeaddrinfo(head);
            return EAI_MEMORY;
        }
        ai->ai_family = n.address.family();
        ai->ai_socktype = n.socktype;
        ai->ai_protocol = n.protocol;
        ai->ai_addrlen = n.address.size();
        ai->ai_addr = reinterpret_cast<sockaddr*>(ai + 1);
        memcpy(ai->ai_addr, n.address.data(), n.address.size());
        if (!head && hints && (hints->ai_flags & AI_CANONNAME) && !answer.canonname.empty())
            ai->ai_canonname = strdup(answer.canonname.c_str());
        *tail = ai;
        tail = &ai->ai_next;
    }
    if (!head) return EAI_NONAME;
    *res = head;
    return 0;
}

}  // namespace
}  // namespace grove::hooks

using namespace grove::hooks;

extern "C" {

int getaddrinfo(const char* node, const char* service, const addrinfo* hints, addrinfo** res) {
    if (!cooperative() || !res) return real::getaddrinfo(node, service, hints, res);
    const std::string& resolver = grove::config::current().resolver;
    if (resolver == "ares" && node) return getaddrinfo_ares(node, service, hints, res);  // no node: no DNS
    if (resolver == "block") return real::getaddrinfo(node, service, hints, res);
    std::optional<addrinfo> h;
    if (hints) {
        h.emplace();
        h->ai_flags = hints->ai_flags;
        h->ai_family = hints->ai_family;
        h->ai_socktype = hints->ai_socktype;
        h->ai_protocol = hints->ai_protocol;
    }
    auto r = on_pool([n = copy(node), s = copy(service), h] {
        AiResult out;
        addrinfo* list = nullptr;
        out.rc = real::getaddrinfo(c_str(n), c_str(s), h ? &*h : nullptr, &list);
        out.err = errno;
        out.list.reset(list);
        return out;
    });
    if (!r) return EAI_SYSTEM;
    if (r->rc == EAI_SYSTEM) errno = r->err;
    *res = r->list.release();
    return r->rc;
}

int getnameinfo(const sockaddr* addr, socklen_t len, char* host, socklen_t hostlen, char* serv, socklen_t servlen,
                int flags) {
    if (!cooperative() || !addr || len > sizeof(sockaddr_storage))
        return real::getnameinfo(addr, len, host, hostlen, serv, servlen, flags);
    sockaddr_storage a{};
    memcpy(&a, addr, len);
    const bool want_host = host && hostlen, want_serv = serv && servlen;
    auto r = on_pool([a, len, hostlen, servlen, flags, want_host, want_serv] {
        NameResult out;
        out.host.resize(want_host ? hostlen : 0);
        out.serv.resize(want_serv ? servlen : 0);
        out.rc = real::getnameinfo(reinterpret_cast<const sockaddr*>(&a), len, want_host ? out.host.data() : nullptr,
                                   want_host ? hostlen : 0, want_serv ? out.serv.data() : nullptr,
                                   want_serv ? servlen : 0, flags);
        out.err = errno;
        return out;
    });
    if (!r) return EAI_SYSTEM;
    if (r->rc == EAI_SYSTEM) errno = r->err;
    if (r->rc == 0) {
        if (want_host) memcpy(host, r->host.data(), hostlen);
        if (want_serv) memcpy(serv, r->serv.data(), servlen);
    }
    return r->rc;
}

hostent* gethostbyname(const char* name) {
    if (!cooperative() || !name) return real::gethostbyname(name);
    auto r = on_pool([n = std::string(name)] { return lookup_host(n); });
    if (!r) {
        h_errno = TRY_AGAIN;
        return nullptr;
    }
    t_host = std::move(*r);
    if (!t_host.found) {
        h_errno = t_host.herr;
        return nullptr;
    }
    return &t_host.h;
}

}  // extern "C"
