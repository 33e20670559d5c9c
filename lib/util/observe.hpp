// grove internal — lib/util/'s own declarations: what its files share with
// each other, and what lib/util/observer.cpp hands to the core's observer
// interface (lib/observer.hpp). The core never includes this file.
#pragma once

#include "../core/internal.hpp"

namespace grove {
class GreenletBase;
}  // namespace grove

namespace grove::events {
struct EventLoopBlocked;
struct MemoryUsageThresholdExceeded;
}  // namespace grove::events

namespace grove::detail {

class HubImpl;

// --- hub registry (lib/util/hub_registry.cpp) ---------------------------------

/// When the thread's hub was made: adds it to the process-wide list, installs
/// the run-info signal on the first hub, starts the monitor if configured.
/// May throw (then the hub still works).
void register_hub(HubImpl& hub);
/// First thing in ~HubImpl: removes it (waits while the monitor looks at it).
void unregister_hub(HubImpl& hub) noexcept;

// --- events (lib/util/events.cpp) ---------------------------------------------

/// Called only while someone is subscribed to GreenletSpawned / GreenletDied
/// (events.cpp keeps the core's observe_spawns / observe_deaths flags up to date).
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

}  // namespace grove::detail
