// grove-hooks internal — is a pthread call made from grove's own code? Its
// internal locks (Hub::Remote, the thread pool...) must never switch, so they
// take the real call. The text segments of every loaded libgrove* object are
// collected once (dl_iterate_phdr) and compared with the return address.
// grove code inlined into the user's binary from public headers is not seen.
#include <link.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "green.hpp"

namespace grove::hooks::green {
namespace {

// --- grove's own code: its internal locks never cooperate ----------------------

struct Range {
    std::uintptr_t begin, end;
};
Range g_ranges[16];
int g_nranges = 0;
std::atomic<int> g_ranges_state{0};

int collect_range(dl_phdr_info* info, size_t, void*) {
    if (!info->dlpi_name || !std::strstr(info->dlpi_name, "libgrove")) return 0;
    for (int i = 0; i < info->dlpi_phnum && g_nranges < 16; ++i) {
        const auto& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
        const std::uintptr_t b = info->dlpi_addr + ph.p_vaddr;
        g_ranges[g_nranges++] = Range{b, b + ph.p_memsz};
    }
    return 0;
}

}  // namespace

bool from_grove(const void* ret) noexcept {
    int s = g_ranges_state.load(std::memory_order_acquire);
    if (s != 2) {
        if (s == 0 && g_ranges_state.compare_exchange_strong(s, 1)) {
            dl_iterate_phdr(collect_range, nullptr);
            g_ranges_state.store(2, std::memory_order_release);
        } else {
            return true;  // being computed by another thread: be conservative
        }
    }
    const auto a = reinterpret_cast<std::uintptr_t>(ret);
    for (int i = 0; i < g_nranges; ++i)
        if (a >= g_ranges[i].begin && a < g_ranges[i].end) return true;
    return false;
}

}  // namespace grove::hooks::green
