// grove internal — the c-ares resolver: a channel per lookup, its sockets
// waited on by the looking-up greenlet through the hub.
//
// Why a channel per lookup: ares_cancel() cancels every query of a channel,
// so with a channel shared by a thread's greenlets, one killed lookup would
// fail all the others. Each lookup instead duplicates (ares_dup) a per-thread
// template channel — configured once from resolv.conf, or from set_servers()
// — and destroys its copy when it ends, however it ends: a kill or Timeout
// unwinds through Channel's destructor, which makes c-ares close the sockets
// and call back with ARES_EDESTRUCTION. Nothing of the query outlives the call.
//
// The wait: ares_getsock() names the sockets c-ares wants to read or write,
// ares_timeout() when it next needs a turn (a retry, the next server). The
// greenlet waits on the socket until that deadline, then lets c-ares process
// the socket, or its timeouts. Nearly always there is one socket (UDP to one
// server; A and AAAA share it). After a retry to another server or a TCP
// fallback there may be several: then it waits on the newest for at most
// kMultiSocketSlice and offers every socket to c-ares (a socket that is not
// ready costs c-ares one EAGAIN), so an answer on an older socket waits at
// most that long.
#include "ares_lookup.hpp"

#include <netdb.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <grove/greenlet.hpp>
#include <grove/io/ares.hpp>
#include <grove/io/resolve.hpp>

#if GROVE_HAVE_ARES
#include <ares.h>
#include <sys/time.h>

#include "fd_wait.hpp"
#endif

#include <fmt/format.h>

namespace grove {

#if GROVE_HAVE_ARES

namespace {

constexpr Duration kMultiSocketSlice{0.02};

// set_servers(): the servers of templates made from now on; a template made
// under an older generation is rebuilt before its next use.
std::mutex g_servers_mutex;
std::string g_servers;
std::uint64_t g_servers_generation = 0;

void library_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (const int rc = ::ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS)
            throw std::runtime_error(fmt::format("grove: ares_library_init: {}", ::ares_strerror(rc)));
    });
}

struct Channel {
    ares_channel ch = nullptr;
    Channel() = default;
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;
    ~Channel() {
        if (ch) ::ares_destroy(ch);
    }
};

/// This thread's template channel (configured, never queried).
struct Template {
    Channel channel;
    std::uint64_t generation = ~std::uint64_t{0};
};
thread_local Template t_template;

ares_channel template_channel() {
    library_init();
    std::string servers;
    std::uint64_t generation;
    {
        std::lock_guard<std::mutex> lock(g_servers_mutex);
        servers = g_servers;
        generation = g_servers_generation;
    }
    if (t_template.channel.ch && t_template.generation == generation) return t_template.channel.ch;
    Channel fresh;
    if (const int rc = ::ares_init(&fresh.ch); rc != ARES_SUCCESS)
        throw ResolveError(EAI_FAIL, fmt::format("grove::ares: ares_init: {}", ::ares_strerror(rc)));
    if (!servers.empty())
        if (const int rc = ::ares_set_servers_ports_csv(fresh.ch, servers.c_str()); rc != ARES_SUCCESS)
            throw std::invalid_argument(
                fmt::format("grove::ares::set_servers('{}'): {}", servers, ::ares_strerror(rc)));
    std::swap(t_template.channel.ch, fresh.ch);
    t_template.generation = generation;
    return t_template.channel.ch;
}

int eai_of(int status) {
    switch (status) {
        case ARES_ENOTFOUND:
        case ARES_ENODATA:
        case ARES_ENONAME:
            return EAI_NONAME;
        case ARES_ETIMEOUT:
        case ARES_ECONNREFUSED:
        case ARES_ESERVFAIL:
        case ARES_EREFUSED:
            return EAI_AGAIN;
        case ARES_ENOMEM:
            return EAI_MEMORY;
        case ARES_EBADFAMILY:
            return EAI_FAMILY;
        case ARES_ESERVICE:
            return EAI_SERVICE;
        default:
            return EAI_FAIL;
    }
}

int ares_flags(int ai_flags) {
    int f = 0;
    if (ai_flags & AI_CANONNAME) f |= ARES_AI_CANONNAME;
    if (ai_flags & AI_NUMERICHOST) f |= ARES_AI_NUMERICHOST;
    if (ai_flags & AI_PASSIVE) f |= ARES_AI_PASSIVE;
    if (ai_flags & AI_NUMERICSERV) f |= ARES_AI_NUMERICSERV;
    if (ai_flags & AI_V4MAPPED) f |= ARES_AI_V4MAPPED;
    if (ai_flags & AI_ALL) f |= ARES_AI_ALL;
    return f;
}

struct FreeAddrinfo {
    void operator()(ares_addrinfo* a) const noexcept { ::ares_freeaddrinfo(a); }
};

/// What the callback fills in; lives on the looking-up greenlet's stack,
/// declared before the Channel so it outlives the channel's destruction.
struct Query {
    bool done = false;
    int status = ARES_SUCCESS;
    std::unique_ptr<ares_addrinfo, FreeAddrinfo> result;

    static void on_done(void* arg, int status, int, ares_addrinfo* res) {
        auto* q = static_cast<Query*>(arg);
        q->done = true;
        q->status = status;
        q->result.reset(res);
    }
};

/// One turn: wait until a socket c-ares wants is ready or its next timeout
/// is due, then let it process. Kill/Timeout propagate from the wait.
void drive(ares_channel ch) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int bits = ::ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
    int count = 0, newest = -1;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i)
        if (ARES_GETSOCK_READABLE(bits, i) || ARES_GETSOCK_WRITABLE(bits, i)) {
            ++count;
            newest = i;
        }
    timeval tv{};
    const timeval* next = ::ares_timeout(ch, nullptr, &tv);
    Duration wait = next ? Duration(static_cast<double>(next->tv_sec) + next->tv_usec / 1e6) : Duration{1};
    if (count > 1) wait = std::min(wait, kMultiSocketSlice);
    bool ready = false;
    if (count > 0) {
        // writable: a TCP connect
        const int events = ARES_GETSOCK_WRITABLE(bits, newest) ? detail::kFdWrite : detail::kFdRead;
        ready = detail::wait_fd(socks[newest], events, now() + std::chrono::duration_cast<Clock::duration>(wait),
                                "grove::ares::resolve");
    } else {
        grove::sleep(wait);
    }
    if (!ready && count <= 1) {
        ::ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts: retries, next server
        if (count == 0) return;
    }
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        const bool r = ARES_GETSOCK_READABLE(bits, i), w = ARES_GETSOCK_WRITABLE(bits, i);
        if (r || w) ::ares_process_fd(ch, r ? socks[i] : ARES_SOCKET_BAD, w ? socks[i] : ARES_SOCKET_BAD);
    }
}

}  // namespace

namespace detail {

AresAnswer ares_lookup(const char* node, const char* service, int family, int socktype, int protocol, int flags) {
    if (!node || !*node) throw ResolveError(EAI_NONAME, "grove::ares::resolve: no host name");
    Query q;  // before `channel`: destroying the channel calls back into it
    Channel channel;
    if (const int rc = ::ares_dup(&channel.ch, template_channel()); rc != ARES_SUCCESS)
        throw ResolveError(EAI_MEMORY, fmt::format("grove::ares: ares_dup: {}", ::ares_strerror(rc)));
    ares_addrinfo_hints hints{};
    hints.ai_flags = ares_flags(flags);
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol;
    ::ares_getaddrinfo(channel.ch, node, service, &hints, &Query::on_done, &q);
    while (!q.done) drive(channel.ch);  // /etc/hosts and numeric answers arrive at once
    AresAnswer out;
    if (q.status != ARES_SUCCESS) {
        out.eai = eai_of(q.status);
        out.error = ::ares_strerror(q.status);
        return out;
    }
    for (const ares_addrinfo_node* n = q.result ? q.result->nodes : nullptr; n; n = n->ai_next)
        out.nodes.push_back({Address(n->ai_addr, n->ai_addrlen), n->ai_socktype, n->ai_protocol});
    if (q.result && q.result->cnames && q.result->cnames->name)
        out.canonname = q.result->cnames->name;
    else if (q.result && q.result->name)
        out.canonname = q.result->name;
    return out;
}

}  // namespace detail

bool ares::available() noexcept { return true; }

void ares::set_servers(std::string_view servers) {
    library_init();
    if (!servers.empty()) {  // check it now, where the caller can see the error
        Channel probe;
        if (const int rc = ::ares_init(&probe.ch); rc != ARES_SUCCESS)
            throw std::runtime_error(fmt::format("grove::ares: ares_init: {}", ::ares_strerror(rc)));
        const std::string csv(servers);
        if (const int rc = ::ares_set_servers_ports_csv(probe.ch, csv.c_str()); rc != ARES_SUCCESS)
            throw std::invalid_argument(fmt::format("grove::ares::set_servers('{}'): {}", csv, ::ares_strerror(rc)));
    }
    std::lock_guard<std::mutex> lock(g_servers_mutex);
    g_servers = std::string(servers);
    ++g_servers_generation;
}

#else  // built without c-ares

namespace {
[[noreturn]] void unavailable(const char* call) {
    throw std::logic_error(std::string(call) + ": grove was built without c-ares (install libc-ares-dev)");
}
}  // namespace

detail::AresAnswer detail::ares_lookup(const char*, const char*, int, int, int, int) {
    unavailable("grove::ares::resolve");
}
bool ares::available() noexcept { return false; }
void ares::set_servers(std::string_view) { unavailable("grove::ares::set_servers"); }

#endif

std::vector<Address> ares::resolve(std::string_view host, std::uint16_t port, int family, int socktype) {
    const std::string h(host), service = std::to_string(port);
    auto answer =
        detail::ares_lookup(h.empty() ? nullptr : h.c_str(), service.c_str(), family, socktype, 0, AI_NUMERICSERV);
    if (answer.eai != 0)
        throw ResolveError(answer.eai, fmt::format("grove::resolve: c-ares('{}'): {}", h, answer.error));
    std::vector<Address> out;
    for (const auto& n : answer.nodes)
        if (std::find(out.begin(), out.end(), n.address) == out.end()) out.push_back(n.address);
    return out;
}

}  // namespace grove
