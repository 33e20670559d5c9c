// grove internal — what the core calls into lib/util/ (run info, monitor,
// events), kept to a few cheap hooks. Each says where the core calls it.
#pragma once

#include "../internal.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace grove {
class GreenletBase;
class Waiter;
}  // namespace grove

namespace grove::events {
struct EventLoopBlocked;
struct MemoryUsageThresholdExceeded;
}  // namespace grove::events

namespace grove::detail {

class HubImpl;

// --- hub registry (lib/util/hub_registry.cpp) ---------------------------------

/// HubImpl::get(), right after the thread's hub exists (t_hub is set): adds it
/// to the process-wide list, installs the run-info signal on the first hub,
/// starts the monitor if configured. May throw (then the hub still works).
void register_hub(HubImpl& hub);
/// First thing in ~HubImpl: removes it (waits while the monitor looks at it).
void unregister_hub(HubImpl& hub) noexcept;

// --- events (lib/util/events.cpp) ---------------------------------------------

/// True while someone is subscribed to GreenletSpawned / GreenletDied; read
/// relaxed on the spawn and death paths, which call fire_* only then.
extern std::atomic<bool> g_spawn_subscribed;
extern std::atomic<bool> g_death_subscribed;
void fire_spawned(GreenletBase& greenlet, GreenletBase& parent) noexcept;
void fire_died(GreenletBase& greenlet) noexcept;
/// From the monitor thread.
void fire_loop_blocked(const events::EventLoopBlocked& event) noexcept;
void fire_memory_exceeded(const events::MemoryUsageThresholdExceeded& event) noexcept;

// --- per-greenlet timing (lib/util/timing.cpp) ----------------------------------

/// Whether new hubs measure greenlet running time and spawn time (config
/// greenlet_timing, or enable_greenlet_timing()). Read once per hub, at its creation.
bool greenlet_timing_enabled() noexcept;
void enable_greenlet_timing() noexcept;
/// steady_clock, in nanoseconds.
std::int64_t now_ns() noexcept;

// --- what a Waiter waits on (lib/util/wait_object.cpp) ----------------------------

/// The Waiter object of an fd wait: the fd and direction (EV_READ/EV_WRITE)
/// packed into a tagged value that is never a valid address (bit 63 set).
const void* fd_wait_object(int fd, int events) noexcept;
/// "sleep", "Event 0x5612...", "wait_read fd 5 (read)" — for LoopExit and run info.
std::string describe_wait(const Waiter& waiter);

}  // namespace grove::detail
