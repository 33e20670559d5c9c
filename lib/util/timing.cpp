// grove internal — whether hubs measure per-greenlet running time and spawn time.
//
// Off by default: the switch path then only tests the hub's timing_ flag.
// On (config greenlet_timing, or enable_greenlet_timing()), every switch reads
// the clock once and charges the slice that just ended to the greenlet that
// ran it (HubImpl::account_time, lib/observer.cpp).
#include <atomic>

#include <grove/config.hpp>

#include "observe.hpp"

namespace grove::detail {
namespace {
std::atomic<bool> g_timing{false};
}  // namespace

bool greenlet_timing_enabled() noexcept {
    if (g_timing.load(std::memory_order_relaxed)) return true;
    try {
        return config::current().greenlet_timing;
    } catch (...) {
        return false;  // a bad setting is reported by whoever reads config first
    }
}

void enable_greenlet_timing() noexcept { g_timing.store(true, std::memory_order_relaxed); }

}  // namespace grove::detail
