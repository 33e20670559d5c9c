// grove-hooks — sigaction/signal/siginterrupt: the trampoline in front of
// user handlers, and the interruptible waits of the main greenlet (see
// signals.hpp for the rules).
//
// The trampoline is async-signal-safe: it touches only thread_locals of the
// initial-exec model, lock-free atomics and the loop's AsyncWatch::send
// (libev's ev_async_send, documented signal-safe). It always calls the
// user's handler with the three SA_SIGINFO arguments; a one-argument handler ignores the other two (the
// x86-64 and AArch64 calling conventions pass them in registers), so a
// signal arriving while sigaction() swaps handlers never sees a handler and
// a calling convention that do not match.
#include "signals.hpp"

#include <dlfcn.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <exception>
#include <optional>

#include "runtime.hpp"
#include "../core/loop.hpp"
#include "state.hpp"

namespace grove::hooks {

using detail::HubImpl;
using detail::Runtime;

struct InterruptibleWait::Slot {
    std::optional<detail::AsyncWatch> async;
};

namespace {

using Handler = void (*)(int, siginfo_t*, void*);
using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);

struct Installed {
    std::atomic<Handler> handler{nullptr};  // the user's, while the trampoline stands in for it
    std::atomic<int> flags{0};              // the user's sa_flags
};
Installed g_installed[NSIG];
std::atomic<bool> g_interrupting[NSIG];  // siginterrupt(sig, 1) was called: signal() omits SA_RESTART

[[gnu::tls_model("initial-exec")]] constinit thread_local int t_depth = 0;             // handlers running
[[gnu::tls_model("initial-exec")]] constinit thread_local unsigned t_handled = 0;      // handlers run
[[gnu::tls_model("initial-exec")]] constinit thread_local unsigned t_unrestarted = 0;  // ...without SA_RESTART
[[gnu::tls_model("initial-exec")]] constinit thread_local InterruptibleWait::Slot* t_wait = nullptr;
thread_local InterruptibleWait::Slot t_slot;

std::atomic<SigactionFn> g_real{nullptr};

int real_sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
    SigactionFn fn = g_real.load(std::memory_order_acquire);
    if (!fn) {
        fn = reinterpret_cast<SigactionFn>(dlsym(RTLD_NEXT, "sigaction"));
        if (!fn) {
            errno = ENOSYS;
            return -1;
        }
        g_real.store(fn, std::memory_order_release);
    }
    return fn(sig, act, old);
}

[[gnu::constructor(101)]] void resolve_at_load() {
    g_real.store(reinterpret_cast<SigactionFn>(dlsym(RTLD_NEXT, "sigaction")), std::memory_order_release);
}

void trampoline(int sig, siginfo_t* info, void* context) {
    const int saved = errno;
    ++t_depth;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    const Installed& in = g_installed[sig];
    const Handler h = in.handler.load(std::memory_order_acquire);
    const int flags = in.flags.load(std::memory_order_acquire);
    errno = saved;
    if (h) h(sig, info, context);
    const int after = errno;
    ++t_handled;
    if (!(flags & SA_RESTART)) ++t_unrestarted;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    --t_depth;
    if (InterruptibleWait::Slot* w = t_wait) w->async->send();
    errno = after;
}

bool is_user_handler(const struct sigaction* act) {
    return act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
}

/// On the hub, after a handler ran during the main greenlet's wait: throws
/// SignalInterrupt into that wait, unless something else is already on its way.
void interrupt_main(void*) noexcept {
    HubImpl* hub = HubImpl::current();
    if (!hub || !t_wait) return;
    GreenletBase& main = hub->main_greenlet();
    auto& s = Runtime::record(main);
    if (!detail::begun_alive(s.state) || s.interrupts.any() || hub->current_greenlet() == &main) return;
    try {
        if (!s.interrupts.deliver({std::make_exception_ptr(SignalInterrupt{}), detail::kSignalSource})) return;
    } catch (...) {
        return;
    }
    hub->schedule(&main);
}

}  // namespace

bool in_signal_handler() noexcept { return t_depth > 0; }

InterruptibleWait::InterruptibleWait() noexcept {
    HubImpl* hub = HubImpl::current();
    if (!hub || !hub->is_main_current() || t_wait) return;
    slot_ = &t_slot;
    slot_->async.emplace(hub->event_loop(), &interrupt_main, nullptr);
    handled_ = t_handled;
    unrestarted_ = t_unrestarted;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    t_wait = slot_;
}

InterruptibleWait::~InterruptibleWait() {
    if (!slot_) return;
    t_wait = nullptr;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    slot_->async.reset();
    // Sent but not delivered (the wait ended for another reason first).
    if (HubImpl* hub = HubImpl::current()) {
        Runtime::record(hub->main_greenlet()).interrupts.withdraw(detail::kSignalSource);
    }
}

void wrap_installed_handlers() noexcept {
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction current {};
        if (real_sigaction(sig, nullptr, &current) != 0 || !is_user_handler(&current)) continue;
        if (current.sa_sigaction == &trampoline) continue;
        sigaction(sig, &current, nullptr);  // the hook below: wrapped, same flags and mask
    }
}

int InterruptibleWait::verdict(Restart restart) const noexcept {
    if (restart == Restart::IfSaRestart && t_unrestarted == unrestarted_) return 0;
    return EINTR;
}

}  // namespace grove::hooks

using namespace grove::hooks;

extern "C" {

int sigaction(int sig, const struct sigaction* act, struct sigaction* old) noexcept {
    if (!patched() || sig <= 0 || sig >= NSIG) return real_sigaction(sig, act, old);
    Installed& in = g_installed[sig];
    const Handler prev_handler = in.handler.load(std::memory_order_acquire);
    const int prev_flags = in.flags.load(std::memory_order_acquire);
    struct sigaction mine;
    const struct sigaction* use = act;
    if (is_user_handler(act)) {
        // Published before the kernel sees the trampoline: a signal in between runs the new handler.
        in.flags.store(act->sa_flags, std::memory_order_release);
        in.handler.store(act->sa_sigaction, std::memory_order_release);
        mine = *act;
        mine.sa_sigaction = &trampoline;
        mine.sa_flags |= SA_SIGINFO;
        use = &mine;
    }
    const int r = real_sigaction(sig, use, old);
    if (r != 0 && is_user_handler(act)) {
        in.handler.store(prev_handler, std::memory_order_release);
        in.flags.store(prev_flags, std::memory_order_release);
    }
    if (r == 0 && old && old->sa_sigaction == &trampoline) {
        old->sa_sigaction = prev_handler;
        old->sa_flags = (old->sa_flags & ~SA_SIGINFO) | (prev_flags & SA_SIGINFO);
    }
    return r;
}

// glibc's signal(): BSD semantics (SA_RESTART unless siginterrupt() said
// otherwise, the signal blocked in its handler). Its own sigaction call is
// internal, hence this copy.
sighandler_t signal(int sig, sighandler_t handler) noexcept {
    struct sigaction act {
    }, old{};
    act.sa_handler = handler;
    sigemptyset(&act.sa_mask);
    if (sig > 0 && sig < NSIG) sigaddset(&act.sa_mask, sig);
    const bool interrupting = sig > 0 && sig < NSIG && g_interrupting[sig].load(std::memory_order_relaxed);
    act.sa_flags = interrupting ? 0 : SA_RESTART;
    if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
    return old.sa_handler;
}

sighandler_t bsd_signal(int sig, sighandler_t handler) noexcept { return signal(sig, handler); }

int siginterrupt(int sig, int flag) noexcept {
    struct sigaction act {};
    if (sigaction(sig, nullptr, &act) != 0) return -1;
    g_interrupting[sig].store(flag != 0, std::memory_order_relaxed);
    if (flag)
        act.sa_flags &= ~SA_RESTART;
    else
        act.sa_flags |= SA_RESTART;
    return sigaction(sig, &act, nullptr);
}

}  // extern "C"
