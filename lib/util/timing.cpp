// grove internal — per-greenlet running time and spawn time.
//
// Off by default: the switch path then only tests the hub's timing_ flag.
// On (config greenlet_timing, or the monitor), every switch reads the clock
// once (steady_clock through the vDSO, ~20 ns) and charges the slice that just
// ended to the greenlet that ran it.
#include <atomic>
#include <chrono>

#include <grove/config.hpp>

#include "../runtime.hpp"
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

std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void HubImpl::account_time(GreenletBase* cur) noexcept {
    const std::int64_t now = now_ns();
    Runtime::state(*cur).run_ns += static_cast<std::uint64_t>(now - slice_start_ns_);
    slice_start_ns_ = now;
}

}  // namespace grove::detail
