// grove internal — lib/util/ plugged into the core: the observer the core
// calls at hub creation and destruction, spawn and death (lib/observer.hpp).
// Registered when the library is loaded, before any hub can exist. grove is
// built as a shared library (meson.build's default_library), so this object is
// always loaded with it; a static libgrove.a would need it linked whole
// (nothing references it by name: that is the point of the inversion).
#include "../core/observer.hpp"

#include "observe.hpp"

namespace grove::detail {
namespace {

class UtilObserver final : public Observer {
public:
    void hub_created(HubImpl& hub) override { register_hub(hub); }
    void hub_destroyed(HubImpl& hub) noexcept override { unregister_hub(hub); }
    void spawned(GreenletBase& greenlet, GreenletBase& parent) noexcept override { fire_spawned(greenlet, parent); }
    void died(GreenletBase& greenlet) noexcept override { fire_died(greenlet); }
    bool timing_wanted() noexcept override { return greenlet_timing_enabled(); }
};

constinit UtilObserver g_util_observer;

// Runs from the library's static initialisation: whoever makes a hub runs later.
[[gnu::constructor]] void plug_in() { set_observer(&g_util_observer); }

}  // namespace
}  // namespace grove::detail
