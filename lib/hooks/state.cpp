// grove-hooks internal — the on/off switch, the "cooperate here?" test and
// the kill/Timeout policy. Reaches into the core's greenlet state (the hub
// test, a kill's pending slot): that is why this file includes runtime.hpp.
#include "state.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <system_error>
#include <vector>

#include <grove/exceptions.hpp>
#include <grove/io/wait.hpp>
#include <grove/monkey.hpp>
#include <grove/timeout.hpp>

#include "io/fd_wait.hpp"
#include "runtime.hpp"
#include "signals.hpp"

namespace grove::hooks {

using detail::HubImpl;
using detail::Runtime;

namespace {

// 0: env not read yet; 1: off; 2: on.
std::atomic<int> g_patched{0};

bool env_patch_all() noexcept {
    const char* v = std::getenv("GROVE_PATCH_ALL");
    return v && *v && std::strcmp(v, "0") != 0;
}

[[gnu::constructor(102)]] void read_env_at_load() { patched(); }

// initial-exec: read by every hooked call (cooperative()), so no __tls_get_addr.
[[gnu::tls_model("initial-exec")]] constinit thread_local bool t_auto_hub = false;
[[gnu::tls_model("initial-exec")]] constinit thread_local bool t_auto_hub_armed = false;  // t_auto_hub_off constructed

// Constructed right after the auto hub exists, so destroyed at thread exit
// *before* the hub's own owner: the hub's teardown and everything after it
// on this thread (static destructors at exit: the thread pool joining its
// workers through the join hook) get the plain calls, not a new hub.
struct AutoHubOff {
    ~AutoHubOff() { t_auto_hub = false; }
    void touch() noexcept {}
};
thread_local AutoHubOff t_auto_hub_off;

// Greenlets inside a PropagateInterrupts scope (one entry per live scope).
thread_local std::vector<const void*> t_propagating;

bool propagating(const GreenletBase* g) {
    return std::find(t_propagating.begin(), t_propagating.end(), g) != t_propagating.end();
}

/// Keeps a kill undelivered for the greenlet's next grove wait outside hooks.
void rearm_kill(std::exception_ptr e) {
    HubImpl* hub = HubImpl::current();
    GreenletBase* g = hub->current_greenlet();
    Runtime::record(*g).interrupts.deliver({std::move(e), detail::kKillSource});
    wake_at_next_wait(*hub, *g);
}

}  // namespace

void wake_at_next_wait(detail::HubImpl& hub, GreenletBase& g) {
    std::weak_ptr<GreenletBase> weak = g.weak_from_this();
    const bool owned = !weak.expired();
    hub.run_callback([hub = &hub, g = &g, weak, owned] {
        std::shared_ptr<GreenletBase> keep = weak.lock();
        if (owned && !keep) return;  // died (and was freed) without parking again
        auto& st = Runtime::record(*g);
        if (detail::begun_alive(st.state) && st.interrupts.any() && st.parked_on) hub->schedule(g);
    });
}

bool patched() noexcept {
    int v = g_patched.load(std::memory_order_acquire);
    if (v == 0) {
        int expected = 0;
        g_patched.compare_exchange_strong(expected, env_patch_all() ? 2 : 1, std::memory_order_acq_rel);
        v = g_patched.load(std::memory_order_acquire);
    }
    return v == 2;
}

bool cooperative() noexcept {
    // patched()'s answer once settled, without the call: this runs on every hooked call.
    const int v = g_patched.load(std::memory_order_acquire);
    if ((v ? v != 2 : !patched()) || in_signal_handler()) return false;
    HubImpl* hub = HubImpl::current();
    if (!hub) return t_auto_hub;
    if (t_auto_hub && !t_auto_hub_armed) {
        t_auto_hub_armed = true;
        t_auto_hub_off.touch();
    }
    return !hub->in_hub() && hub->current_greenlet();
}

void mark_auto_hub_thread() noexcept { t_auto_hub = true; }

int ensure_hub() noexcept {
    if (HubImpl::current()) return 0;
    try {
        (void)HubImpl::get();
        (void)cooperative();  // arms the exit switch-off above
        return 0;
    } catch (const std::bad_alloc&) {
        return ENOMEM;
    } catch (const std::system_error& e) {
        return e.code().value() ? e.code().value() : EIO;
    } catch (...) {
        return EIO;  // e.g. a bad GROVE_* setting: the hub's error went to the log
    }
}

bool kill_pending() noexcept {
    HubImpl* hub = HubImpl::current();
    if (!hub) return false;
    GreenletBase* g = hub->current_greenlet();
    const auto& s = Runtime::record(*g);
    return s.interrupts.kill() && !propagating(g);
}

int interrupted(bool may_propagate) {
    try {
        throw;
    } catch (const std::system_error& e) {
        return e.code().value() ? e.code().value() : EIO;
    } catch (const std::bad_alloc&) {
        return ENOMEM;
    } catch (const LoopExit&) {
        return EDEADLK;
    } catch (const TimeoutError&) {
        if (may_propagate && propagating(HubImpl::current()->current_greenlet())) throw;
        return ETIMEDOUT;
    } catch (...) {
        if (may_propagate && propagating(HubImpl::current()->current_greenlet())) throw;
        rearm_kill(std::current_exception());
        return ECANCELED;
    }
}

std::optional<Deadline> deadline_in_us(long long us) noexcept {
    if (us <= 0) return std::nullopt;
    return grove::now() + std::chrono::microseconds(us);
}

int wait_fd(int fd, Dir dir, std::optional<Deadline> deadline) {
    if (kill_pending()) return ECANCELED;
    if (const int err = ensure_hub()) return err;
    // signal(7): a socket call with SO_RCVTIMEO/SO_SNDTIMEO is never restarted.
    const Restart restart = deadline ? Restart::Never : Restart::IfSaRestart;
    std::optional<Timeout> own;  // SO_*TIMEO: told apart from the caller's guards
    InterruptibleWait signals;
    try {
        if (deadline) {
            const Duration left = *deadline - grove::now();
            if (left.count() <= 0) return EAGAIN;
            own.emplace(left);
        }
        // Not grove::wait_read/wait_write: their probe of a caller's fd (an
        // fcntl per wait) is for fds nobody tried; every hook waits right
        // after its own non-blocking try on `fd`, so the fd is open.
        detail::wait_fd(fd, dir == Dir::Read ? detail::kFdRead : detail::kFdWrite, std::nullopt,
                        dir == Dir::Read ? "hooked read" : "hooked write");
        return 0;
    } catch (const SignalInterrupt&) {
        return signals.verdict(restart);
    } catch (const TimeoutError& e) {
        if (own && e.from(*own)) return EAGAIN;
        return interrupted();
    } catch (...) {
        return interrupted();
    }
}

}  // namespace grove::hooks

namespace grove::monkey {

void patch_all() { hooks::g_patched.store(2, std::memory_order_release); }
void unpatch_all() { hooks::g_patched.store(1, std::memory_order_release); }
bool is_patched() { return hooks::patched(); }

PropagateInterrupts::PropagateInterrupts() : greenlet_(getcurrent()) { hooks::t_propagating.push_back(greenlet_); }

PropagateInterrupts::~PropagateInterrupts() {
    auto& v = hooks::t_propagating;
    auto it = std::find(v.rbegin(), v.rend(), greenlet_);
    if (it != v.rend()) v.erase(std::next(it).base());
}

}  // namespace grove::monkey
