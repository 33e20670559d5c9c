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
#include <cstring>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <grove/config.hpp>

#include "clock.hpp"
#include "context.hpp"
#include "observer.hpp"
#include "report.hpp"
#include "wait_object.hpp"

namespace grove::detail {

[[gnu::tls_model("initial-exec")]] constinit thread_local HubImpl* t_hub = nullptr;  // see context.cpp

namespace {

constexpr int kDirectBudget = 256;
constexpr auto kPollInterval = std::chrono::microseconds(100);
constexpr std::size_t kHubStackSize = 256 * 1024;

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

// --- ReadyQueue -------------------------------------------------------------

void ReadyQueue::push_back(GreenletBase* g) noexcept {
    GreenletState& s = Runtime::state(*g);
    s.in_ready = true;
    s.ready_next = nullptr;
    s.ready_prev = tail_;
    if (tail_)
        Runtime::state(*tail_).ready_next = g;
    else
        head_ = g;
    tail_ = g;
    ++size_;
}

GreenletBase* ReadyQueue::pop_front() noexcept {
    GreenletBase* g = head_;
    if (g) remove(g);
    return g;
}

GreenletBase* ReadyQueue::pop_at(std::size_t i) noexcept {
    GreenletBase* g;
    if (i < size_ / 2) {
        g = head_;
        while (i--) g = Runtime::state(*g).ready_next;
    } else {
        g = tail_;
        for (std::size_t back = size_ - 1 - i; back--;) g = Runtime::state(*g).ready_prev;
    }
    remove(g);
    return g;
}

void ReadyQueue::remove(GreenletBase* g) noexcept {
    GreenletState& s = Runtime::state(*g);
    if (!s.in_ready) return;
    if (s.ready_prev)
        Runtime::state(*s.ready_prev).ready_next = s.ready_next;
    else
        head_ = s.ready_next;
    if (s.ready_next)
        Runtime::state(*s.ready_next).ready_prev = s.ready_prev;
    else
        tail_ = s.ready_prev;
    s.ready_prev = s.ready_next = nullptr;
    s.in_ready = false;
    --size_;
}

// --- HubImpl: creation and teardown ----------------------------------------

HubImpl::HubImpl() {
    loop_ = ev_loop_new(EVFLAG_AUTO);
    if (!loop_) throw std::runtime_error("grove: cannot create the libev loop (ev_loop_new failed)");
    ev_set_userdata(loop_, this);
    remote_ = std::make_shared<Remote>();
    remote_->hub_ = this;
    ev_async_init(&async_, &HubImpl::async_cb);
    async_.data = this;
    ev_async_start(loop_, &async_);
    ev_unref(loop_);  // cross-thread wake-ups never keep the loop alive by themselves
    ev_init(&wakeup_, &HubImpl::wakeup_cb);
    wakeup_.data = this;

    GreenletState& m = Runtime::state(main_);
    m.is_main = true;
    m.phase = Phase::Running;
    m.hub = this;
    GreenletState& h = Runtime::state(hub_greenlet_);
    h.is_hub = true;
    h.phase = Phase::Running;
    h.hub = this;
    current_ = &main_;
    Observer* o = observer();
    timing_ = o && o->timing_wanted();
    if (timing_) slice_start_ns_ = real_now_ns();
    context_thread_init(m.ctx);
    stacks_.allocate(h.ctx, kHubStackSize);
    context_make(h.ctx, &Runtime::greenlet_main);
    install_overflow_handler(&HubImpl::describe_overflow);
}

HubImpl::~HubImpl() {
    if (Observer* o = observer()) o->hub_destroyed(*this);
    {
        std::lock_guard<std::mutex> lock(remote_->mutex_);
        remote_->hub_ = nullptr;
    }
    ev_ref(loop_);
    ev_async_stop(loop_, &async_);
    if (ev_is_active(&wakeup_)) {
        ev_ref(loop_);
        ev_timer_stop(loop_, &wakeup_);
    }
    // Timers still armed belong to objects that outlive us (a Timeout on the
    // main stack): mark them disarmed, so they never reach another hub's heap.
    while (!timers_.empty()) timers_.remove(timers_.top());
    // The hub fiber sits in run_loop() forever and owns nothing that needs
    // unwinding: its stack is simply returned.
    stacks_.release(Runtime::state(hub_greenlet_).ctx);
    ev_loop_destroy(loop_);
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
        for (GreenletBase* g = live_head_; g; g = Runtime::state(*g).live_next)
            if (auto self = Runtime::state(*g).self) victims.push_back(std::move(self));
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
        remove_live(*g);
        Runtime::state(*g).self.reset();  // the stack stays mapped: it may still be referenced
    }
    t_hub = nullptr;
    delete this;
}

// --- scheduling and switching ----------------------------------------------

void HubImpl::schedule(GreenletBase* g) noexcept {
    if (!Runtime::state(*g).in_ready) ready_.push_back(g);
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
    GreenletState& s = Runtime::state(*g);
    try {
        stacks_.allocate(s.ctx, s.stack_request);
    } catch (...) {
        Runtime::finish(*g, std::current_exception(), nullptr);
        s.self.reset();  // the notification queue holds it for the report
        return false;
    }
    context_make(s.ctx, &Runtime::greenlet_main);
    s.phase = Phase::Running;
    return true;
}

void HubImpl::switch_to(GreenletBase* next) noexcept {
    GreenletBase* cur = current_;
    // A greenlet that has not begun gets its stack now: kill-before-start and
    // spawn itself never touch a stack. If none can be mapped, it dies with
    // that error (reported, rethrown by get()) and someone else runs.
    while (Runtime::state(*next).phase == Phase::Scheduled && !prepare(next)) {
        next = (cur == &hub_greenlet_) ? pick_next() : &hub_greenlet_;
        if (next == cur) return;
    }
    if (next == cur) return;
    current_ = next;
    ++Runtime::state(*next).switches;
    note_switch(cur);
    context_switch(Runtime::state(*cur).ctx, Runtime::state(*next).ctx);
    // Returns here when someone switches back to `cur`; they set current_.
    if (probe_) [[unlikely]]
        answer_probes(cur);
}

void HubImpl::suspend() {
    GreenletBase* cur = current_;
    check_may_block("blocking call");
    GreenletBase* next = pick_next();
    if (next != cur) switch_to(next);
    deliver_pending(cur);
}

void HubImpl::deliver_pending(GreenletBase* g) {
    GreenletState& s = Runtime::state(*g);
    if (!s.pending) return;
    // Inside a destructor that runs during unwinding, throwing would call
    // std::terminate: keep the kill pending for the next block outside it.
    if (std::uncaught_exceptions() > 0) return;
    std::exception_ptr e = std::move(s.pending);
    s.pending = nullptr;
    s.pending_serial = 0;
    std::rethrow_exception(e);
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
                    ev_run(loop_, EVRUN_NOWAIT);
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
            ev_run(loop_, EVRUN_NOWAIT);
            if (ready_.empty()) idle_waiters_.notify_all();
            polled = true;
            continue;
        }
        const bool virtual_clock = t_deterministic.virtual_clock;
        if (virtual_clock && timers_.referenced() > 0) {
            const bool jump = only_time_can_wake();
            polled = true;
            if (jump) {
                // Every greenlet waits on time: the virtual clock jumps to the
                // earliest due instead of sleeping until it.
                t_deterministic.virtual_now_ns = std::max(t_deterministic.virtual_now_ns, timers_.top().due_ns);
                fire_due_timers();
            }
            if (jump || !ready_.empty() || !notify_.empty() || !callbacks_.empty() || !idle_waiters_.empty()) continue;
        }
        // ev_run returns the count of referenced active watchers: with none,
        // it polls once without blocking and nothing can ever wake anyone.
        polling_.store(true, std::memory_order_relaxed);
        if (virtual_clock) blocked_since_ns_ = real_now_ns();
        const int active = ev_run(loop_, EVRUN_ONCE);
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

GreenletBase* HubImpl::pop_ready() noexcept {
    if (t_deterministic.seeded_order && ready_.size() > 1) [[unlikely]]
        return ready_.pop_at(next_random() % ready_.size());
    return ready_.pop_front();
}

bool HubImpl::only_time_can_wake() {
    const int active = ev_run(loop_, EVRUN_NOWAIT);  // first lets in I/O that is already there
    return ready_.empty() && notify_.empty() && callbacks_.empty() && idle_waiters_.empty() &&
           active == timers_.referenced() && !timers_.empty();
}

void HubImpl::catch_up_virtual_clock() noexcept {
    if (!blocked_since_ns_) return;
    const std::int64_t now = real_now_ns();
    t_deterministic.virtual_now_ns += now - blocked_since_ns_;
    blocked_since_ns_ = now;
}

// --- timers --------------------------------------------------------------------
//
// Referenced timers hold a reference on the loop (ev_ref) while armed, so
// ev_run's count of referenced watchers includes them as it did when each was
// an ev_timer; libev's one timer, wakeup_, is itself unreferenced.

void HubImpl::arm_timer(HubTimer& t, std::int64_t due_ns) {
    disarm_timer(t);
    timers_.push(t, due_ns);
    if (t.referenced) ev_ref(loop_);
    if (!ev_is_active(&wakeup_) || due_ns < wakeup_due_ns_) rearm_wakeup();
}

void HubImpl::arm_timer_after(HubTimer& t, double after) {
    const std::int64_t left = after > 0 ? static_cast<std::int64_t>(after * 1e9) : 0;
    arm_timer(t, clock_now_ns() + left);
}

void HubImpl::disarm_timer(HubTimer& t) noexcept {
    if (!t.armed()) return;
    if (t.referenced) ev_unref(loop_);
    timers_.remove(t);  // wakeup_ may now be early: it finds nothing due and re-arms
}

void HubImpl::shift_timers(std::int64_t delta_ns) noexcept {
    timers_.shift(delta_ns);
    rearm_wakeup();
}

void HubImpl::fire_due_timers() noexcept {
    const std::int64_t now = clock_now_ns();
    while (!timers_.empty() && timers_.top().due_ns <= now) {
        HubTimer& t = timers_.top();
        disarm_timer(t);
        t.fire(t);
    }
    rearm_wakeup();
}

void HubImpl::rearm_wakeup() noexcept {
    if (ev_is_active(&wakeup_)) {
        if (!timers_.empty() && timers_.top().due_ns == wakeup_due_ns_) return;
        ev_ref(loop_);  // libev: re-reference an unreferenced watcher before stopping it
        ev_timer_stop(loop_, &wakeup_);
    }
    if (timers_.empty()) return;
    wakeup_due_ns_ = timers_.top().due_ns;
    const std::int64_t left = wakeup_due_ns_ - clock_now_ns();
    ev_now_update(loop_);
    ev_timer_set(&wakeup_, left > 0 ? static_cast<double>(left) * 1e-9 : 0., 0.);
    ev_timer_start(loop_, &wakeup_);
    ev_unref(loop_);
}

void HubImpl::wakeup_cb(struct ev_loop* loop, ev_timer* w, int) {
    ev_ref(loop);  // libev stopped the one-shot timer before calling us: rebalance the unref
    auto* hub = static_cast<HubImpl*>(w->data);
    if (t_deterministic.virtual_clock) hub->catch_up_virtual_clock();
    hub->fire_due_timers();
}

void HubImpl::loop_ran_dry() {
    if (joiner_) {
        joiner_->wake();
        return;
    }
    GreenletState& m = Runtime::state(main_);
    if (m.in_ready || m.pending) return;  // it will run and see it
    m.pending = std::make_exception_ptr(LoopExit(describe_waiters()));
    m.pending_serial = 0;
    schedule(&main_);
}

std::string HubImpl::describe_waiters() const {
    std::string text = "This operation would block forever";
    auto line = [&text](const GreenletBase& g) {
        const GreenletState& s = Runtime::state(g);
        text += "\n  " + g.describe();
        if (s.parked_on) text += " waits on " + describe_wait(*s.parked_on);
    };
    line(main_);
    for (GreenletBase* g = live_head_; g; g = Runtime::state(*g).live_next) line(*g);
    text += describe_join_cycle();
    return text;
}

// Joins form a wait-for graph (a "join" Waiter's object is the greenlet
// joined). A cycle in it is the usual reason a program blocks forever.
std::string HubImpl::describe_join_cycle() const {
    auto joins = [](const GreenletBase* g) -> const GreenletBase* {
        const Waiter* w = Runtime::state(*g).parked_on;
        if (!w || std::strcmp(w->what(), "join") != 0) return nullptr;
        return static_cast<const GreenletBase*>(w->object());
    };
    std::vector<const GreenletBase*> all{&main_};
    for (GreenletBase* g = live_head_; g; g = Runtime::state(*g).live_next) all.push_back(g);
    for (const GreenletBase* start : all) {
        std::vector<const GreenletBase*> path;
        for (const GreenletBase* g = start; g && path.size() <= all.size(); g = joins(g)) {
            const auto seen = std::find(path.begin(), path.end(), g);
            if (seen != path.end()) {
                if (seen != path.begin()) break;  // a cycle further on: reported from its own start
                std::string cycle = "\n  wait-for cycle: ";
                for (const GreenletBase* c : path) cycle += c->describe() + " joins ";
                return cycle + start->describe();
            }
            path.push_back(g);
        }
    }
    return {};
}

void HubImpl::process_notifications() {
    auto batch = std::move(notify_);
    notify_.clear();
    for (auto& g : batch) {
        GreenletState& s = Runtime::state(*g);
        s.notify_queued = false;
        if (s.error && !s.reported) {
            s.reported = true;
            try {
                report_error(g->describe(), s.error, s.trace);
            } catch (...) {
                std::fputs("grove: failed to report a greenlet's error\n", stderr);
            }
        }
        // Links added while these run are queued again for the next pass.
        auto links = std::move(s.links);
        s.links.clear();
        for (auto& link : links) {
            const bool ok = !s.error;
            if ((link.kind == LinkKind::Value && !ok) || (link.kind == LinkKind::Exception && ok)) continue;
            try {
                link.callback(*g);
            } catch (...) {
                auto e = std::current_exception();
                try {
                    report_error("link callback of " + g->describe(), e, take_throw_trace(e));
                } catch (...) {
                }
            }
        }
    }
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

void HubImpl::async_cb(struct ev_loop*, ev_async* w, int) {
    auto* hub = static_cast<HubImpl*>(w->data);
    std::vector<std::function<void()>> inbox;
    {
        std::lock_guard<std::mutex> lock(hub->inbox_mutex_);
        inbox.swap(hub->inbox_);
    }
    for (auto& fn : inbox) hub->callbacks_.push_back(std::move(fn));
}

void HubImpl::post_from_thread(std::function<void()> fn) {
    {
        std::lock_guard<std::mutex> lock(inbox_mutex_);
        inbox_.push_back(std::move(fn));
    }
    ev_async_send(loop_, &async_);
}

int HubImpl::active_watchers() { return ev_run(loop_, EVRUN_NOWAIT); }

void HubImpl::add_callback(std::function<void()> fn) { callbacks_.push_back(std::move(fn)); }

void HubImpl::queue_notification(GreenletBase& g) {
    GreenletState& s = Runtime::state(g);
    if (s.notify_queued) return;
    auto self = s.self ? s.self : g.weak_from_this().lock();
    if (!self) {  // not owned by a Ref: report at once, there is nobody to link
        if (s.error && !s.reported) {
            s.reported = true;
            report_error(g.describe(), s.error, s.trace);
        }
        return;
    }
    s.notify_queued = true;
    notify_.push_back(std::move(self));
}

void HubImpl::add_live(GreenletBase& g) noexcept {
    GreenletState& s = Runtime::state(g);
    s.in_live = true;
    s.live_prev = nullptr;
    s.live_next = live_head_;
    if (live_head_) Runtime::state(*live_head_).live_prev = &g;
    live_head_ = &g;
    ++live_count_;
}

void HubImpl::remove_live(GreenletBase& g) noexcept {
    GreenletState& s = Runtime::state(g);
    if (!s.in_live) return;
    if (s.live_prev)
        Runtime::state(*s.live_prev).live_next = s.live_next;
    else
        live_head_ = s.live_next;
    if (s.live_next) Runtime::state(*s.live_next).live_prev = s.live_prev;
    s.live_prev = s.live_next = nullptr;
    s.in_live = false;
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
        return ready_.empty() && active_watchers() == 0;
    }
    return w.wait(timeout);
}

bool HubImpl::describe_overflow(const void* fault, const void* sp, char* out, std::size_t out_size) {
    HubImpl* hub = t_hub;
    if (!hub || !hub->current_) return false;
    const ContextState& c = Runtime::state(*hub->current_).ctx;
    if (!c.stack_base || hub->current_ == &hub->main_) return false;
    const char* base = static_cast<const char*>(c.stack_base);
    const char* addr = static_cast<const char*>(fault);
    const bool below_guard = addr < base && addr >= base - 64 * 1024;  // the guard, or a frame that jumped it
    // An unguarded stack runs through its canary into whatever lies below
    // before something faults: the stack pointer (or the canary) says whose.
    const bool sp_below = sp && static_cast<const char*>(sp) < base;
    const bool overflowed = below_guard || sp_below || (!c.stack_guarded && !stack_canary_intact(c.stack_base));
    if (!overflowed) return false;
    std::string who;
    try {
        who = hub->current_->describe();
    } catch (...) {
        who = "<greenlet>";
    }
    std::snprintf(out, out_size,
                  "grove: stack overflow in %s: its %zu-byte stack is exhausted "
                  "(set GROVE_STACK_SIZE, e.g. GROVE_STACK_SIZE=1M, or SpawnOptions::stack_size)\n",
                  who.c_str(), c.stack_size);
    return true;
}

// --- greenlet entry and death -------------------------------------------------

void Runtime::greenlet_main() {
    HubImpl& hub = *t_hub;
    GreenletBase* g = hub.current_;
    if (g == &hub.hub_greenlet_) hub.run_loop();  // the hub fiber's whole life
    {
        std::exception_ptr error;
        std::exception_ptr exit;
        try {
            g->run_body();
        } catch (const GreenletExit&) {
            exit = std::current_exception();
        } catch (...) {
            error = std::current_exception();
            g->state_.trace = take_throw_trace(error);
        }
        finish(*g, std::move(error), std::move(exit));
    }
    // Straight to the hub when it has a report or links to run, so they come
    // before any joiner resumes (as in gevent).
    GreenletBase* next = g->state_.notify_queued ? &hub.hub_greenlet_ : hub.pick_next();
    if (next->state_.phase == Phase::Scheduled && !hub.prepare(next)) next = &hub.hub_greenlet_;
    hub.current_ = next;
    ++next->state_.switches;
    hub.note_switch(g);
    context_exit(g->state_.ctx, next->state_.ctx, &HubImpl::after_death, g);
}

void HubImpl::after_death(void* dead) noexcept {
    auto* g = static_cast<GreenletBase*>(dead);
    GreenletState& s = Runtime::state(*g);
    static_cast<HubImpl*>(s.hub)->stacks_.release(s.ctx);
    auto self = std::move(s.self);  // may destroy the greenlet object here
}

void Runtime::finish(GreenletBase& g, std::exception_ptr error, std::exception_ptr exit) {
    GreenletState& s = g.state_;
    auto& hub = *static_cast<HubImpl*>(s.hub);
    s.phase = Phase::Dead;
    s.error = std::move(error);
    s.exit = std::move(exit);
    s.pending = nullptr;
    hub.remove_live(g);
    observe_death(g);
    g.waiters().notify_all();
    if (s.error || !s.links.empty()) hub.queue_notification(g);
}

}  // namespace grove::detail

// --- public Hub API -----------------------------------------------------------

namespace grove {

using detail::HubImpl;

Hub::Hub() = default;
Hub::~Hub() = default;

struct ev_loop* Hub::loop() const noexcept {
    return static_cast<const HubImpl*>(this)->ev();
}
bool Hub::join(std::optional<Duration> timeout) { return static_cast<HubImpl*>(this)->join_impl(timeout); }
void Hub::destroy() { static_cast<HubImpl*>(this)->destroy_impl(); }
std::size_t Hub::live_count() const noexcept { return static_cast<const HubImpl*>(this)->live(); }
void Hub::run_callback(std::function<void()> fn) { static_cast<HubImpl*>(this)->add_callback(std::move(fn)); }

bool Hub::Remote::post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!hub_) return false;
    static_cast<HubImpl*>(hub_)->post_from_thread(std::move(fn));
    return true;
}

Hub::KeepAlive::KeepAlive() : hub_(&get_hub()) { ev_ref(hub_->loop()); }
Hub::KeepAlive::~KeepAlive() { ev_unref(hub_->loop()); }

Hub& get_hub() { return HubImpl::get(); }
Hub* get_hub_if_exists() noexcept { return HubImpl::current(); }

void reinit() {
    if (HubImpl* hub = HubImpl::current()) ev_loop_fork(hub->ev());
}

}  // namespace grove
