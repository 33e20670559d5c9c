// grove internal — one c-ares getaddrinfo, driven by the calling greenlet
// (lib/io/ares_lookup.cpp). Shared by grove::resolve / grove::ares::resolve
// and grove-hooks' getaddrinfo.
#pragma once

#include <string>
#include <vector>

#include <grove/io/address.hpp>

namespace grove::detail {

struct AresNode {
    Address address;
    int socktype = 0;
    int protocol = 0;
};

struct AresAnswer {
    int eai = 0;        // 0, or the EAI_* code getaddrinfo would give
    std::string error;  // c-ares's text when eai != 0
    std::vector<AresNode> nodes;
    std::string canonname;  // with AI_CANONNAME, the name c-ares reports
};

/// getaddrinfo(node, service, hints) through c-ares (flags: AI_* values;
/// AI_CANONNAME, AI_NUMERICSERV, AI_NUMERICHOST, AI_PASSIVE, AI_V4MAPPED,
/// AI_ALL are passed on, the rest ignored). Waits cooperatively; kill and
/// grove::Timeout interrupt it after releasing the query. ResolveError
/// (EAI_NONAME) for a null or empty `node`; std::logic_error when grove was
/// built without c-ares.
AresAnswer ares_lookup(const char* node, const char* service, int family, int socktype, int protocol, int flags);

}  // namespace grove::detail
