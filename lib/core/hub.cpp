// grove internal — the hub: ready queue, the switch path, the loop fiber.
//
// Control flow in one picture:
//
//   greenlet A blocks ──suspend()──► next ready greenlet B   (direct switch,
//        ▲                           │                         no hub visit)
//        │                           ▼ budget spent / nobody ready
//        └──── schedule(A) ◄──── hub fiber: reports + links, callbacks,
//             (timer/io cb,           ev_run(NOWAIT) between rounds of ready
//              wake, kill)            greenlets, ev_run(ONCE) when idle
//
// A yield goes straight to the next ready greenlet: one switch, no syscall.
// Every kDirectBudget direct switches control passes through the hub, which
// polls libev without blocking, so a greenlet spinning on sleep(0) never
// starves timers or sockets.
#include "runtime.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <grove/config.hpp>

#include "clock.hpp"
#include "compact.hpp"
#include "context.hpp"
#include "local_storage.hpp"
#include "report.hpp"
#include "observer.hpp"
#include "wait_object.hpp"

namespace grove::detail {

[[gnu::tls_model("initial-exec")]] constinit thread_local HubImpl* t_hub = nullptr;  // see context.cpp

namespace {

constexpr int kDirectBudget = 256;
constexpr auto kPollInterval = std::chrono::microseconds(100);

// Destroys the thread's hub when the thread exits (unwinding its greenlets).
struct HubOwner {
    ~HubOwner() {
        if (t_hub && t_hub->is_main_current()) {
            try {
                t_hub->destroy_impl();
            } catch (...) {
                std::fputs("grove: error while destroying the hub at thread exit\n", stderr);
            }
        }
    }
    void touch() noexcept {}
};
thread_local HubOwner t_owner;

}  // namespace

// --- HubImpl: creation and teardown ----------------------------------------

HubImpl::HubImpl() {
    auto remote = std::make_shared<RemoteImpl>();
    remote->hub = this;
    remote_ = std::move(remote);

    GreenletRecord& m = Runtime::record(main_);
    m.is_main = true;
    m.state = GreenletState::Begun;  // running
    m.hub = this;
    GreenletRecord& h = Runtime::record(hub_greenlet_);
    h.is_hub = true;
    h.state = GreenletState::Begun;  // its first switch starts run_loop
    h.hub = this;
    current_ = &main_;
    Observer* o = observer();
    timing_ = o && o->timing_wanted();
    if (timing_) slice_start_ns_ = real_now_ns();
    compact_default_ = config::current().compact;
    context_thread_init(m.ctx);
    stacks_.allocate(h.ctx, kHubStackSize);
    context_make(h.ctx, &Runtime::greenlet_main);
    install_overflow_handler(&HubImpl::describe_overflow);
}

HubImpl::~HubImpl() {
    if (Observer* o = observer()) o->hub_destroyed(*this);
    {
        auto& remote = static_cast<RemoteImpl&>(*remote_);
        std::lock_guard<std::mutex> lock(remote.mutex);
        remote.hub = nullptr;
    }
    loop_.stop_wakeup();
    // Timers still armed belong to objects that outlive us (a Timeout on the
    // main stack): mark them disarmed, so they never reach another hub's heap.
    while (!timers_.empty()) timers_.remove(timers_.top());
    // The hub fiber sits in run_loop() forever and owns nothing that needs
    // unwinding: its stack is simply returned.
    stacks_.release(Runtime::record(hub_greenlet_).ctx);
}

HubImpl& HubImpl::create() {
    (void)config::current();  // a bad GROVE_* value is an error here, before any hub exists
    t_owner.touch();
    t_hub = new HubImpl();
    if (Observer* o = observer()) o->hub_created(*t_hub);
    return *t_hub;
}

void HubImpl::destroy_impl() {
    if (!is_main_current()) throw std::logic_error("grove::Hub::destroy: call it from the thread's main greenlet");
    destroying_ = true;
    for (int round = 0; round < 3 && live_count_ > 0; ++round) {
        std::vector<std::shared_ptr<GreenletBase>> victims;
        for (GreenletBase* g = live_head_; g; g = Runtime::record(*g).live_next)
            if (auto self = Runtime::record(*g).self) victims.push_back(std::move(self));
        for (auto& g : victims) g->kill({}, false);
        const auto deadline = Clock::now() + std::chrono::milliseconds(round == 0 ? 1000 : 500);
        for (auto& g : victims) {
            const Duration left = deadline - Clock::now();
            if (left.count() <= 0) break;
            g->join(left);
        }
    }
    join_impl(Duration::zero());  // flush reports and links of the last deaths
    while (live_head_) {
        GreenletBase* g = live_head_;
        try {
            logger()->error("grove: {} did not exit after GreenletExit (3 tries); abandoning its stack", g->describe());
        } catch (...) {
        }
        // It never runs again, and its stack goes with the pool: a record
        // there (it parked) moves off first, for the Refs that outlive us.
        if (Runtime::record(*g).home == RecordHome::Stack) Runtime::move_record_off_stack(*g);
        // A compact one may be queued for copy-out, or copied out lending its
        // top page: neither may outlive the stack.
        if (ContextState& c = Runtime::record(*g).ctx; c.copy || c.copy_out) compact_discard(c);
        remove_live(*g);
        Runtime::record(*g).self.reset();
    }
    // grove::local values of the hub (its callbacks) and of this main greenlet;
    // whatever their destructors touch lands in main's slot, emptied last.
    destroy_locals(hub_greenlet_);
    destroy_locals(main_);
    t_hub = nullptr;
    delete this;
}

// --- scheduling and switching ----------------------------------------------

void HubImpl::schedule_slow(GreenletBase* g) noexcept {
    const GreenletState s = Runtime::record(*g).state;
    if (s == GreenletState::New || s == GreenletState::Delayed) schedule_new(g);  // else queued already, or dead
}

void HubImpl::unschedule(GreenletBase* g) noexcept { ready_.remove(g); }

void HubImpl::throw_cannot_block(const char* call) {
    throw std::logic_error(std::string("grove: ") + call +
                           ": cannot block in the hub (inside a libev, link or hub callback); "
                           "spawn a greenlet to do the blocking work");
}

GreenletBase* HubImpl::pick_next() noexcept {
    // Reports, links and callbacks waiting for the hub go first.
    if (direct_budget_ > 0 && !ready_.empty() && notify_.empty() && callbacks_.empty()) {
        --direct_budget_;
        return pop_ready();
    }
    return &hub_greenlet_;
}

bool HubImpl::prepare(GreenletBase* g) noexcept {
    GreenletRecord& s = Runtime::record(*g);
    try {
        stacks_.allocate(s.ctx, s.stack_request);
    } catch (...) {
        Runtime::finish(*g, std::current_exception(), nullptr);
        s.self.reset();  // the notification queue holds it for the report
        return false;
    }
    // Its record moves onto its stack at its first wait (Waiter::wait_until),
    // unless it is compact: that stack is copied out while parked, and the
    // record stays in the slab, where the hub can reach it.
    s.moves_at_first_wait = !s.ctx.compact;
    context_make(s.ctx, &Runtime::greenlet_main);
    return true;
}

GreenletBase* HubImpl::prepare_first(GreenletBase* cur, GreenletBase* next) noexcept {
    // A greenlet that has not begun gets its stack now: kill-before-start and
    // spawn itself never touch a stack. If none can be mapped, it dies with
    // that error (reported, rethrown by get()) and someone else runs.
    while (Runtime::record(*next).state == GreenletState::Scheduled && !prepare(next)) {
        next = (cur == &hub_greenlet_) ? pick_next() : &hub_greenlet_;
        if (next == cur) break;
    }
    return next;
}

void HubImpl::switch_to(GreenletBase* next) noexcept {
    GreenletBase* cur = current_;
    if (Runtime::record(*next).state == GreenletState::Scheduled) [[unlikely]]
        next = prepare_first(cur, next);
    if (next == cur) {  // it yielded and was the only one ready: it runs on
        Runtime::record(*cur).state = GreenletState::Begun;
        return;
    }
    GreenletRecord& to = Runtime::record(*next);
    GreenletRecord& from = Runtime::record(*cur);
    // A compact greenlet leaving for a wait (not a yield: it is not back on
    // the queue) with nothing of grove's pinned to its stack is copied out.
    if (from.ctx.compact) [[unlikely]]
        from.ctx.copy_out = from.ctx.pins == 0 && from.state == GreenletState::Begun;
    to.state = GreenletState::Begun;  // off the queue, if it came from there
    current_ = next;
    ++to.switches;
    note_switch(cur);
    context_switch(from.ctx, to.ctx);
    // Returns here when someone switches back to `cur`; they set current_.
    if (probe_) [[unlikely]]
        answer_probes(cur);
}

void HubImpl::suspend() {
    GreenletBase* cur = current_;
    check_may_block("blocking call");
    switch_to(pick_next());
    deliver_pending(cur);
}

void HubImpl::deliver_pending(GreenletBase* g) {
    GreenletRecord& s = Runtime::record(*g);
    if (!s.interrupts.any()) return;
    // Inside a destructor that runs during unwinding, throwing would call
    // std::terminate: keep the kill pending for the next block outside it.
    if (std::uncaught_exceptions() > 0) return;
    // The wait it resumes from was woken for good (Waiter::wake_final): that
    // wait succeeded; the kill waits for the next blocking point.
    if (s.parked_on && s.parked_on->woken_final()) return;
    std::rethrow_exception(s.interrupts.take().error);
}

// --- the loop fiber ----------------------------------------------------------

void HubImpl::run_loop() {
    bool polled = false;
    for (;;) {
        if (!notify_.empty()) process_notifications();
        if (!callbacks_.empty()) run_callbacks();
        if (!ready_.empty()) {
            // Between rounds of ready greenlets, let I/O and timers in — but at
            // most every kPollInterval: a greenlet yielding in a loop would
            // otherwise pay an epoll_wait (~1 µs) every kDirectBudget yields.
            if (!polled) {
                const auto now = Clock::now();
                if (now - last_poll_ >= kPollInterval) {
                    loop_.poll_nowait();
                    last_poll_ = now;
                }
            }
            polled = false;
            direct_budget_ = kDirectBudget;
            switch_to(pop_ready());
            continue;
        }
        if (!notify_.empty() || !callbacks_.empty()) continue;
        if (!idle_waiters_.empty()) {
            loop_.poll_nowait();
            if (ready_.empty()) idle_waiters_.notify_all();
            polled = true;
            continue;
        }
        const bool virtual_clock = t_deterministic.virtual_clock;
        if (virtual_clock && timers_.referenced() > 0) {
            const bool jump = poll_then_only_time_can_wake();
            polled = true;
            if (jump) {
                // Every greenlet waits on time: the virtual clock jumps to the
                // earliest due instead of sleeping until it.
                t_deterministic.virtual_now_ns = std::max(t_deterministic.virtual_now_ns, timers_.top_due());
                fire_due_timers();
            }
            if (jump || !ready_.empty() || !notify_.empty() || !callbacks_.empty() || !idle_waiters_.empty()) continue;
        }
        // The loop returns the count of active watchers that keep it alive:
        // with none, it polls once without blocking and nothing can ever wake anyone.
        compact_flush();     // idle: queued compact greenlets are copied out and their pages go back now
        record_slab_trim();  // and record slab chunks emptied by parked greenlets
        polling_.store(true, std::memory_order_relaxed);
        if (virtual_clock) blocked_since_ns_ = real_now_ns();
        const int active = loop_.block_once();
        if (virtual_clock) {
            catch_up_virtual_clock();
            blocked_since_ns_ = 0;
        }
        polling_.store(false, std::memory_order_relaxed);
        polled = true;
        last_poll_ = Clock::now();
        if (active == 0 && ready_.empty() && notify_.empty() && callbacks_.empty() && idle_waiters_.empty())
            loop_ran_dry();
    }
}

GreenletBase* HubImpl::pop_seeded() noexcept { return ready_.pop_at(next_random() % ready_.size()); }

bool HubImpl::poll_then_only_time_can_wake() {
    const int active = loop_.poll_nowait();  // first lets in I/O that is already there
    // Only time can wake someone when the timers' hold is all that keeps the loop alive.
    return ready_.empty() && notify_.empty() && callbacks_.empty() && idle_waiters_.empty() &&
           active == timer_holds() && !timers_.empty();
}

void HubImpl::catch_up_virtual_clock() noexcept {
    if (!blocked_since_ns_) return;
    const std::int64_t now = real_now_ns();
    t_deterministic.virtual_now_ns += now - blocked_since_ns_;
    blocked_since_ns_ = now;
}

void HubImpl::run_callbacks() {
    auto batch = std::move(callbacks_);
    callbacks_.clear();
    for (auto& fn : batch) {
        try {
            fn();
        } catch (...) {
            auto e = std::current_exception();
            try {
                report_error("<hub callback>", e, take_throw_trace(e));
            } catch (...) {
            }
        }
    }
}

void HubImpl::posted_cb(void* data) noexcept {
    auto* hub = static_cast<HubImpl*>(data);
    for (auto& fn : hub->loop_.take_posted()) hub->callbacks_.push_back(std::move(fn));
}

void HubImpl::post_from_thread(std::function<void()> fn) { loop_.post(std::move(fn)); }

void HubImpl::add_callback(std::function<void()> fn) { callbacks_.push_back(std::move(fn)); }

void HubImpl::add_live(GreenletBase& g) noexcept {
    GreenletRecord& s = Runtime::record(g);
    s.live_prev = nullptr;
    s.live_next = live_head_;
    if (live_head_) Runtime::record(*live_head_).live_prev = &g;
    live_head_ = &g;
    ++live_count_;
}

void HubImpl::remove_live(GreenletBase& g) noexcept {
    GreenletRecord& s = Runtime::record(g);
    if (s.live_prev)
        Runtime::record(*s.live_prev).live_next = s.live_next;
    else
        live_head_ = s.live_next;
    if (s.live_next) Runtime::record(*s.live_next).live_prev = s.live_prev;
    s.live_prev = s.live_next = nullptr;
    --live_count_;
}

bool HubImpl::join_impl(std::optional<Duration> timeout) {
    check_may_block("Hub::join");
    Waiter w("Hub::join", this);
    w.set_keeps_loop_alive(false);
    Waiter* previous = joiner_;
    joiner_ = &w;
    struct Restore {
        HubImpl* hub;
        Waiter* previous;
        ~Restore() { hub->joiner_ = previous; }
    } restore{this, previous};
    if (timeout && timeout->count() <= 0) {
        // Flush what is already due (reports, links, ready greenlets) once,
        // through the hub even if a direct switch budget is left.
        schedule(current_);
        direct_budget_ = 0;
        suspend();
        return ready_.empty() && poll_and_count_alive_watchers() == 0;
    }
    return w.wait(timeout);
}

}  // namespace grove::detail
