// grove — grove::config: every runtime setting in one place (gevent.config).
//
// Each setting has a default, a GROVE_* environment variable, and a field of
// grove::config::Settings that code may set before grove first reads them:
//
//   int main() {
//       auto s = grove::config::from_environment();  // defaults + GROVE_* variables
//       s.monitor_thread = true;                      // code wins over the environment
//       grove::config::set(s);
//       ...                                           // first grove call reads it
//   }
//
// Without set(), the settings come from the environment on first use (the
// first hub, spawn or stack). An invalid value is a std::invalid_argument
// thrown there, whose message names the variable and the bad value:
//   "grove::config: GROVE_MAX_BLOCKING_TIME='fast': not a number of seconds"
#pragma once

#include <cstddef>
#include <string>

namespace grove::config {

/// Every runtime setting, one field each, with its GROVE_* variable and default (see
/// the file comment and config::set()). A plain value: copy it, change fields, pass it
/// to set().
struct Settings {
    /// GROVE_STACK_SIZE (bytes, or with a k/K, m/M, g/G suffix; 16K..1G): usable
    /// stack bytes of a greenlet that does not ask for a size. 0: 128 KiB
    /// (×4 under AddressSanitizer, whose redzones need room).
    std::size_t stack_size = 0;
    /// GROVE_GUARD_BUDGET: stacks that get their own mapping and guard page;
    /// the rest are canary-checked (see lib/core/stack.hpp). 0: a quarter of
    /// vm.max_map_count, which leaves room for everything else the process maps.
    std::size_t guard_budget = 0;
    /// GROVE_MONITOR_THREAD (1/0, true/false, yes/no, on/off): start the
    /// monitor thread with the first hub (grove::util::start_monitor). Off:
    /// it costs one relaxed store per switch and nothing else.
    bool monitor_thread = false;
    /// GROVE_MAX_BLOCKING_TIME (seconds, > 0): a hub that has not switched for
    /// longer is reported by the monitor. 0.1, as in gevent.
    double max_blocking_time = 0.1;
    /// GROVE_MAX_MEMORY_USAGE (bytes, k/K m/M g/G suffix): the monitor fires
    /// MemoryUsageThresholdExceeded when the resident set grows past it.
    /// 0: no check.
    std::size_t max_memory_usage = 0;
    /// GROVE_RUN_INFO_SIGNAL: the signal that prints
    /// grove::util::format_run_info() to stderr, from a greenlet on the first
    /// hub made (`kill -USR1 <pid>`). "on"/"yes"/"true" mean SIGUSR1; else a
    /// name (USR2, SIGHUP) or number; "off"/"0" disables. 0 (off) by default:
    /// a library must not take over a signal the program may use itself.
    int run_info_signal = 0;
    /// GROVE_THREADPOOL_SIZE (> 0): workers of grove::get_threadpool(). 10.
    std::size_t threadpool_size = 10;
    /// GROVE_RESOLVER: how grove::resolve and the hooked getaddrinfo look
    /// names up (gevent's names): "thread", getaddrinfo on get_threadpool();
    /// "ares", c-ares driven by the hub, no thread (<grove/io/ares.hpp>);
    /// "block", getaddrinfo on the calling thread, blocking its hub.
    std::string resolver = "thread";
    /// GROVE_LOG_LEVEL (trace, debug, info, warning, error, critical, off):
    /// level of the spdlog logger "grove" (error reports, monitor warnings),
    /// set when the first hub is made. Empty: spdlog's own (SPDLOG_LEVEL).
    std::string log_level;
    /// GROVE_GREENLET_TIMING (boolean): measure each greenlet's running time
    /// and spawn time, shown by the run info. Costs one clock read per switch
    /// (~20 ns here, bench/monitor_bench.cpp); off, nothing.
    bool greenlet_timing = false;
    /// GROVE_COMPACT (boolean): every hub starts with Hub::set_compact_default(true),
    /// so greenlets are compact unless their SpawnOptions say otherwise. Off.
    bool compact = false;
    /// GROVE_NO_GUARD_INSTALL (boolean; true turns this off): use the kernel's
    /// in-mapping guard pages (MADV_GUARD_INSTALL, Linux 6.13+) when it has
    /// them. Off, stacks are guarded as on older kernels (own mapping, within
    /// guard_budget); meant for testing that path.
    bool guard_install = true;
};

/// The defaults overridden by every GROVE_* variable that is set and not
/// empty. Throws std::invalid_argument naming the first bad variable.
Settings from_environment();

/// Checks every field as the environment parser would (same messages, with
/// the field's variable name). Throws std::invalid_argument.
void validate(const Settings& settings);

/// Replaces the settings. Call it before grove reads them (before the first
/// hub, spawn or blocking call): afterwards it throws std::logic_error, since
/// stacks and the monitor were already set up with the old ones. Validates
/// first (std::invalid_argument). Any thread; not concurrently with first use.
void set(const Settings& settings);

/// The settings in force: those given to set(), else from_environment(),
/// read once. Throws std::invalid_argument on the first call if the
/// environment holds a bad value (and again on every later call).
const Settings& current();

}  // namespace grove::config
