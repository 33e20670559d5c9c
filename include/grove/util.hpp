// grove — grove::util: see inside a running program (gevent.util and the
// monitor thread).
//
// format_run_info() lists every live greenlet of every hub: who spawned it,
// what it waits on, and its stack right now — for suspended greenlets too.
// `kill -USR1 <pid>` prints the same to stderr (config run_info_signal).
// The monitor thread notices a hub that stopped switching (a greenlet that
// computes or makes a blocking syscall without yielding) and logs which
// greenlet holds it, with its stack at that moment.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <grove/duration.hpp>

namespace grove::util {

/// The run info of the whole process, for humans:
///
///   grove run info: 2 hubs, pid 4242
///   Hub of thread 4242 (main) — this thread: 3 live greenlets, 1 ready
///   + <MainGreenlet at 0x...> #1 running, 7 switches
///   |   File "prog.cpp", line 40, in main
///   | + <Greenlet "poller" at 0x...: poll_socket(int)(5)> #2 suspended, waits on wait_read fd 5
///   |       File "prog.cpp", line 12, in poll_socket(int)
///   ...
///
/// Greenlets appear in a tree by spawner (gevent's GreenletTree); one whose
/// spawner died is listed at the top level with "spawned by #N". A
/// greenlet's state is running, ready (runnable, or not begun), suspended
/// (with the wait it is parked in: what + object, fds as "fd N"), or dead
/// (its report and links are still queued). Stacks are innermost last,
/// demangled, with file:line where there is debug info; the runtime's own
/// frames (the switch, the wait machinery) are trimmed.
///
/// The calling thread's hub is listed exactly (each suspended greenlet is
/// resumed for an instant to read its stack, without running any of its
/// code). Other threads' hubs are asked through Hub::Remote and list
/// themselves on their own thread; the caller waits for them cooperatively,
/// up to `other_hubs_timeout` each — a hub that does not answer in time (it
/// is blocked) is named as such. So this may switch when other hubs exist.
/// Call it from a greenlet or the main greenlet (from the hub, other hubs
/// are not asked). Throws only std::bad_alloc.
std::string format_run_info(Duration other_hubs_timeout = Duration(0.5));

/// Writes format_run_info() to stderr (not through spdlog: it must work when
/// logging is off). May switch, like format_run_info().
void print_run_info();

/// Settings of the monitor thread; the defaults come from grove::config.
struct MonitorOptions {
    /// A hub that has not switched for longer is reported (once per incident).
    Duration max_blocking_time = Duration(0.1);
    /// Resident-set limit in bytes for MemoryUsageThresholdExceeded; 0: none.
    std::size_t max_memory_usage = 0;
    /// Options from grove::config::current().
    static MonitorOptions from_config();
};

/// Starts the monitor: one OS thread that checks every hub of the process
/// each max_blocking_time / 4. A hub whose greenlet has not switched for
/// longer than max_blocking_time (the hub sleeping in the event loop does not
/// count) is reported once per incident through the "grove" logger at
/// warning level, naming the greenlet and its stack captured at that moment
/// (the monitor interrupts that thread with SIGURG, whose handler records raw
/// return addresses), then EventLoopBlocked fires. Starts with the first hub
/// when config monitor_thread is set. A second call while running changes the
/// options. Any thread. std::invalid_argument for a limit <= 0.
void start_monitor(MonitorOptions options = MonitorOptions::from_config());

/// Stops and joins the monitor thread, if running. Any thread but the
/// monitor's own (an event callback).
void stop_monitor();

bool monitor_running() noexcept;

}  // namespace grove::util
