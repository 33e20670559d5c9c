// grove internal — the monitor thread: blocked hubs and memory usage.
//
// Each hub bumps a relaxed counter at every switch (HubImpl::note_switch) and
// flags the time it sleeps in ev_run. The monitor samples both every
// max_blocking_time / 4; a hub whose counter stood still, while not sleeping,
// for longer than max_blocking_time is blocked by whatever runs on it.
//
// Naming the culprit needs its stack *now*, and only its own thread can
// unwind it: the monitor sends that thread SIGURG (ignored by default, rarely
// used — Go's runtime preempts with it for the same reason). The handler
// records the running greenlet's identity and raw return addresses into one
// preallocated slot and nothing else; the monitor symbolises them afterwards.
//
//   slot.state: kIdle ─monitor─► kRequested ─handler (CAS)─► kWriting ─► kDone
//                                     └─monitor times out (CAS)─► kIdle
#include <grove/util.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <grove/config.hpp>
#include <grove/events.hpp>

#include "../core/report.hpp"
#include "../core/runtime.hpp"
#include "../core/frames.hpp"
#include "hub_registry.hpp"
#include "observe.hpp"

namespace grove::util {
namespace {

using detail::HubImpl;
using detail::Runtime;

constexpr int kCaptureSignal = SIGURG;
constexpr std::size_t kMaxFrames = 64;
enum : int { kIdle, kRequested, kWriting, kDone };

// The one capture in flight; only the monitor thread requests captures.
struct CaptureSlot {
    std::atomic<int> state{kIdle};
    std::atomic<pid_t> thread_id{0};
    std::uint64_t ident = 0;
    const void* greenlet = nullptr;
    std::size_t depth = 0;
    std::uintptr_t pcs[kMaxFrames] = {};
};
CaptureSlot g_slot;
struct sigaction g_previous {};

// Async-signal-safe: an atomic CAS, a thread-local read (this thread's hub
// exists, so its TLS block does), the unwinder (warmed up beforehand).
void on_capture_signal(int signum, siginfo_t* info, void* context) {
    const int saved_errno = errno;
    int expected = kRequested;
    if (g_slot.thread_id.load(std::memory_order_relaxed) == ::gettid() &&
        g_slot.state.compare_exchange_strong(expected, kWriting, std::memory_order_acquire)) {
        HubImpl* hub = HubImpl::current();
        GreenletBase* g = hub ? hub->current_greenlet() : nullptr;
        g_slot.greenlet = g;
        g_slot.ident = g ? Runtime::record(*g).ident : 0;
        g_slot.depth = detail::capture_stack(g_slot.pcs, kMaxFrames);
        g_slot.state.store(kDone, std::memory_order_release);
    } else if ((g_previous.sa_flags & SA_SIGINFO) && g_previous.sa_sigaction) {
        g_previous.sa_sigaction(signum, info, context);
    } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN && g_previous.sa_handler) {
        g_previous.sa_handler(signum);
    }
    errno = saved_errno;
}

void install_capture_handler() {
    static std::once_flag once;
    std::call_once(once, [] {
        std::uintptr_t warm[4];
        (void)detail::capture_stack(warm, 4);  // loads the unwinder outside any handler
        struct sigaction action {};
        action.sa_sigaction = &on_capture_signal;
        action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        if (sigaction(kCaptureSignal, &action, &g_previous) != 0)
            throw std::system_error(errno, std::system_category(), "grove::util::start_monitor: sigaction(SIGURG)");
    });
}

struct Incident {
    pid_t thread_id = 0;
    Duration blocked_for{};
    std::uint64_t ident = 0;
    const void* greenlet = nullptr;
    std::vector<std::uintptr_t> pcs;
    bool captured = false;
};

// With the hubs lock held (the thread cannot destroy its hub meanwhile).
Incident capture(const detail::HubEntry& entry, Duration blocked_for) {
    Incident incident;
    incident.thread_id = entry.thread_id;
    incident.blocked_for = blocked_for;
    g_slot.thread_id.store(entry.thread_id, std::memory_order_relaxed);
    g_slot.state.store(kRequested, std::memory_order_release);
    if (pthread_kill(entry.thread, kCaptureSignal) == 0) {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        while (g_slot.state.load(std::memory_order_acquire) != kDone && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    int expected = kRequested;
    if (g_slot.state.compare_exchange_strong(expected, kIdle)) return incident;  // the handler never ran
    while (g_slot.state.load(std::memory_order_acquire) != kDone) std::this_thread::yield();
    incident.ident = g_slot.ident;
    incident.greenlet = g_slot.greenlet;
    incident.pcs.assign(g_slot.pcs, g_slot.pcs + g_slot.depth);
    incident.captured = true;
    g_slot.state.store(kIdle, std::memory_order_relaxed);
    return incident;
}

void report(const Incident& incident) {
    const std::string stack = detail::format_stack(incident.pcs.data(), incident.pcs.size(), "  ");
    const std::string who = incident.ident ? fmt::format("greenlet #{} at {}", incident.ident, incident.greenlet)
                                           : fmt::format("greenlet at {}", incident.greenlet);
    try {
        auto log = detail::logger();
        if (incident.captured)
            log->warn(
                "grove: the hub of thread {} has not switched for {:.3f} s (max_blocking_time): {} is "
                "holding it; its stack when seen:\n{}",
                incident.thread_id, incident.blocked_for.count(), who, stack);
        else
            log->warn(
                "grove: the hub of thread {} has not switched for {:.3f} s (max_blocking_time); its "
                "stack could not be captured (SIGURG blocked on that thread?)",
                incident.thread_id, incident.blocked_for.count());
        log->flush();
    } catch (...) {
        std::fputs("grove: the monitor could not log a blocked hub\n", stderr);
    }
    detail::fire_loop_blocked({incident.thread_id, incident.ident, incident.greenlet, incident.blocked_for, stack});
}

std::size_t resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, resident = 0;
    const int n = std::fscanf(f, "%llu %llu", &size, &resident);
    std::fclose(f);
    return n == 2 ? static_cast<std::size_t>(resident) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

class Monitor {
public:
    void start(MonitorOptions options) {
        if (!(options.max_blocking_time.count() > 0))
            throw std::invalid_argument("grove::util::start_monitor: max_blocking_time must be > 0");
        install_capture_handler();
        const std::lock_guard lock(mutex_);
        options_ = options;
        if (thread_.joinable()) return;
        stop_ = false;
        thread_ = std::thread([this] { run(); });
    }

    void stop() {
        {
            const std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    }

    bool running() {
        const std::lock_guard lock(mutex_);
        return thread_.joinable() && !stop_;
    }

    ~Monitor() { stop(); }

private:
    struct Watch {
        HubImpl* hub;
        std::uint64_t epoch;
        std::chrono::steady_clock::time_point since;
        bool reported;
    };

    void run() {
        std::unique_lock lock(mutex_);
        while (!stop_) {
            const MonitorOptions options = options_;
            lock.unlock();
            tick(options);
            lock.lock();
            wake_.wait_for(lock, options.max_blocking_time / 4, [this] { return stop_; });
        }
    }

    void tick(const MonitorOptions& options) {
        std::vector<Incident> incidents;
        const auto now = std::chrono::steady_clock::now();
        {
            auto hubs = detail::lock_hubs();
            std::vector<Watch> next;
            for (const auto& entry : detail::hubs_locked()) {
                Watch w = find(entry.hub, now);
                const std::uint64_t epoch = entry.hub->switch_epoch();
                if (epoch != w.epoch || entry.hub->polling()) {
                    w = {entry.hub, epoch, now, false};
                } else if (!w.reported && Duration(now - w.since) > options.max_blocking_time) {
                    w.reported = true;
                    incidents.push_back(capture(entry, Duration(now - w.since)));
                }
                next.push_back(w);
            }
            watches_ = std::move(next);  // hubs that are gone are forgotten
        }
        for (const auto& incident : incidents) report(incident);
        if (options.max_memory_usage) check_memory(options.max_memory_usage);
    }

    Watch find(HubImpl* hub, std::chrono::steady_clock::time_point now) const {
        for (const Watch& w : watches_)
            if (w.hub == hub) return w;
        return {hub, hub->switch_epoch(), now, false};
    }

    void check_memory(std::size_t limit) {
        const std::size_t rss = resident_bytes();
        if (rss > limit && !over_limit_) {
            over_limit_ = true;
            try {
                detail::logger()->warn("grove: resident memory {} bytes exceeds max_memory_usage {} bytes", rss, limit);
            } catch (...) {
            }
            detail::fire_memory_exceeded({rss, limit});
        } else if (rss <= limit) {
            over_limit_ = false;
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;       // guarded by mutex_
    MonitorOptions options_;  // guarded by mutex_
    std::thread thread_;
    std::vector<Watch> watches_;  // the monitor thread only
    bool over_limit_ = false;     // the monitor thread only
};

Monitor& monitor() {
    static Monitor m;
    return m;
}

}  // namespace

MonitorOptions MonitorOptions::from_config() {
    const config::Settings& s = config::current();
    return MonitorOptions{Duration(s.max_blocking_time), s.max_memory_usage};
}

void start_monitor(MonitorOptions options) { monitor().start(options); }

void stop_monitor() { monitor().stop(); }

bool monitor_running() noexcept {
    try {
        return monitor().running();
    } catch (...) {
        return false;
    }
}

}  // namespace grove::util
