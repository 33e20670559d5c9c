// grove internal — the observer slot (lib/observer.hpp) and the one thing the
// switch path does for it: charging a slice of running time.
#include "observer.hpp"

#include "clock.hpp"
#include "runtime.hpp"

namespace grove::detail {

constinit std::atomic<Observer*> g_observer{nullptr};
constinit std::atomic<bool> g_observe_spawns{false};
constinit std::atomic<bool> g_observe_deaths{false};

void set_observer(Observer* o) noexcept { g_observer.store(o, std::memory_order_relaxed); }

// On every switch of a timing hub: one clock read (steady_clock through the
// vDSO, ~20 ns), charged to the greenlet whose slice just ended.
void HubImpl::account_time(GreenletBase* cur) noexcept {
    const std::int64_t now = real_now_ns();
    Runtime::record(*cur).run_ns += static_cast<std::uint64_t>(now - slice_start_ns_);
    slice_start_ns_ = now;
}

}  // namespace grove::detail
