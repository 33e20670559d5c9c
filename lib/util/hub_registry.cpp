// grove internal — the hub registry, and what the first hub sets up from
// grove::config: the logger's level, the run-info signal, the monitor.
#include "hub_registry.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>

#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <grove/config.hpp>
#include <grove/greenlet.hpp>
#include <grove/io/signal.hpp>
#include <grove/util.hpp>

#include "../core/report.hpp"
#include "../core/runtime.hpp"
#include "observe.hpp"

namespace grove::detail {
namespace {

std::mutex g_mutex;
std::vector<HubEntry> g_hubs;  // guarded by g_mutex

// The run-info signal lives on one hub at a time (libev: one loop per
// signal): the first hub made, then the next one made after it is gone.
// Touched only under g_mutex.
HubImpl* g_signal_hub = nullptr;
std::unique_ptr<SignalHandler> g_signal;
bool g_configured = false;  // log level and monitor applied (once per process)

void configure_process(const config::Settings& s) {
    if (!s.log_level.empty()) logger()->set_level(spdlog::level::from_str(s.log_level));
    if (s.monitor_thread) util::start_monitor(util::MonitorOptions::from_config());
}

}  // namespace

std::unique_lock<std::mutex> lock_hubs() { return std::unique_lock<std::mutex>(g_mutex); }
std::vector<HubEntry>& hubs_locked() { return g_hubs; }

void register_hub(HubImpl& hub) {
    const config::Settings& s = config::current();
    bool configure = false;
    bool install_signal = false;
    {
        const std::lock_guard lock(g_mutex);
        g_hubs.push_back({&hub, static_cast<pid_t>(::syscall(SYS_gettid)), pthread_self(), hub.remote()});
        configure = !g_configured;
        g_configured = true;
        install_signal = s.run_info_signal != 0 && g_signal_hub == nullptr;
        if (install_signal) g_signal_hub = &hub;
    }
    if (configure) configure_process(s);
    if (install_signal) {
        auto handler = signal_handler(s.run_info_signal, [] {
            getcurrent()->set_name("grove run-info signal");
            util::print_run_info();
        });
        const std::lock_guard lock(g_mutex);
        g_signal = std::move(handler);
    }
}

void unregister_hub(HubImpl& hub) noexcept {
    std::unique_ptr<SignalHandler> signal;
    {
        const std::lock_guard lock(g_mutex);
        g_hubs.erase(std::remove_if(g_hubs.begin(), g_hubs.end(), [&](const HubEntry& e) { return e.hub == &hub; }),
                     g_hubs.end());
        if (g_signal_hub == &hub) {
            signal = std::move(g_signal);
            g_signal_hub = nullptr;
        }
    }
    // Stops the watcher on this hub's loop, which is still alive here.
}

}  // namespace grove::detail
