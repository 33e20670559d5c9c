// grove-hooks — taking grove's libraries out of LD_PRELOAD, in place, so that
// what the program execs runs plainly (grove-run without --children). Shared
// by libgrove-hooks (launch.cpp) and the libc-only libgrove-run (shim.cpp):
// plain C library calls only, internal linkage in each.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace grove::hooks {
namespace {

/// A path whose last component starts with libgrove (libgrove-hooks.so, libgrove.so...).
bool is_grove_lib(const char* start, std::size_t len) {
    const char* base = start;
    for (std::size_t i = 0; i < len; ++i)
        if (start[i] == '/') base = start + i + 1;
    return static_cast<std::size_t>(base - start) + 8 <= len && std::strncmp(base, "libgrove", 8) == 0;
}

/// Removes grove's libraries from the LD_PRELOAD string, in place.
void strip_preload() {
    char* value = std::getenv("LD_PRELOAD");
    if (!value) return;
    char* out = value;
    const char* p = value;
    while (*p) {
        while (*p == ' ' || *p == ':') ++p;
        const char* start = p;
        while (*p && *p != ' ' && *p != ':') ++p;
        const std::size_t len = static_cast<std::size_t>(p - start);
        if (len == 0 || is_grove_lib(start, len)) continue;
        if (out != value) *out++ = ' ';
        std::memmove(out, start, len);
        out += len;
    }
    *out = '\0';
    if (out == value) unsetenv("LD_PRELOAD");
}

}  // namespace
}  // namespace grove::hooks
