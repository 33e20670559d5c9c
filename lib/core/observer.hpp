// grove internal — what the core tells an observer, and how it asks.
//
// The core knows nothing of run info, the monitor or grove::events: those live
// in lib/util/, which plugs in here from the side (lib/util/observer.cpp
// registers itself when the library is loaded). The core calls out at a few
// points, each cheap when nobody listens:
//   - a hub made or destroyed: through observer(), a null check;
//   - a greenlet spawned or dead: only while observe_spawns / observe_deaths
//     is set, one relaxed load each;
//   - a switch: nothing is called. The hub charges running time itself, behind
//     one flag fixed when the hub is made (Observer::timing_wanted), so the
//     switch path stays one predictable branch (HubImpl::note_switch).
// Stack probing (lib/core/probe.cpp) and frame capture (lib/core/frames.hpp) are core
// services the observer calls in to, not hooks.
#pragma once

#include "internal.hpp"

#include <atomic>

namespace grove {
class GreenletBase;
}

namespace grove::detail {

class HubImpl;

class Observer {
public:
    /// Right after the thread's hub exists (t_hub is set). May throw: the
    /// error propagates from the call that made the hub, which stays usable.
    virtual void hub_created(HubImpl& hub) = 0;
    /// First thing in ~HubImpl, on the hub's thread.
    virtual void hub_destroyed(HubImpl& hub) noexcept = 0;
    /// A greenlet was started by `parent` (only while observe_spawns is set).
    virtual void spawned(GreenletBase& greenlet, GreenletBase& parent) noexcept = 0;
    /// A greenlet finished (only while observe_deaths is set).
    virtual void died(GreenletBase& greenlet) noexcept = 0;
    /// Whether a hub made now measures its greenlets' running and spawn
    /// times (GreenletRecord::run_ns, spawned_at_ns). Asked once per hub.
    virtual bool timing_wanted() noexcept = 0;

protected:
    ~Observer() = default;
};

/// The registered observer, or null. Set once, before any hub exists (a
/// static initializer of the library); read relaxed.
extern std::atomic<Observer*> g_observer;
inline Observer* observer() noexcept { return g_observer.load(std::memory_order_relaxed); }
/// Registers `o` (null: none). Not while hubs exist: they keep what they asked.
void set_observer(Observer* o) noexcept;

/// Set by the observer while it wants spawned() / died(); the spawn and death
/// paths read them relaxed and call only when set.
extern std::atomic<bool> g_observe_spawns;
extern std::atomic<bool> g_observe_deaths;

inline void observe_spawn(GreenletBase& greenlet, GreenletBase& parent) noexcept {
    if (g_observe_spawns.load(std::memory_order_relaxed)) [[unlikely]]
        if (Observer* o = observer()) o->spawned(greenlet, parent);
}

inline void observe_death(GreenletBase& greenlet) noexcept {
    if (g_observe_deaths.load(std::memory_order_relaxed)) [[unlikely]]
        if (Observer* o = observer()) o->died(greenlet);
}

}  // namespace grove::detail
