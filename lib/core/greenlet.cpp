// grove internal — a greenlet's life: GreenletBase and the free functions of
// <grove/greenlet.hpp>; its entry on a fresh stack, its finish, what runs
// after its death (the stack's release, the report and its links).
#include <cstdio>
#include <atomic>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "clock.hpp"
#include "context.hpp"
#include "local_storage.hpp"
#include "report.hpp"
#include "observer.hpp"
#include "runtime.hpp"

namespace grove {

using detail::HubImpl;
using detail::Phase;
using detail::Runtime;

namespace {

std::atomic<std::uint64_t> g_next_ident{1};

HubImpl& hub_for(const GreenletBase& g, const char* call) {
    HubImpl& hub = HubImpl::get();
    if (g.hub() && g.hub() != &hub)
        throw std::logic_error(std::string("grove: ") + call + ": the greenlet belongs to another thread's hub");
    return hub;
}

bool is_greenlet_exit(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const GreenletExit&) {
        return true;
    } catch (...) {
        return false;
    }
}

void start_timer_fired(detail::HubTimer& t) noexcept {
    auto* g = static_cast<GreenletBase*>(t.data);
    static_cast<HubImpl*>(g->hub())->schedule(g);
}

}  // namespace

GreenletBase::GreenletBase() { Runtime::init_timer(state_.start_timer, &start_timer_fired, this); }

GreenletBase::~GreenletBase() {
    if (state_.in_ready && state_.hub) static_cast<HubImpl*>(state_.hub)->unschedule(this);
}

void GreenletBase::set_options(SpawnOptions options) {
    if (started()) throw std::logic_error("grove: GreenletBase::set_options: the greenlet was already started");
    state_.stack_request = options.stack_size;
    if (!options.name.empty()) state_.name = std::move(options.name);
}

void GreenletBase::start() {
    if (state_.phase != Phase::New) return;
    auto self = weak_from_this().lock();
    if (!self)
        throw std::logic_error(
            "grove: GreenletBase::start: the greenlet must be owned by a grove::Ref (create it with grove::make or "
            "grove::spawn)");
    start_owned(std::move(self));
}

void GreenletBase::start_owned(std::shared_ptr<GreenletBase> self) {
    if (state_.phase != Phase::New) return;
    HubImpl& hub = HubImpl::get();
    state_.self = std::move(self);
    state_.hub = &hub;
    state_.phase = Phase::Scheduled;
    GreenletBase& parent = *hub.current_greenlet();
    state_.parent_ident = parent.minimal_ident();
    if (hub.timing()) state_.spawned_at_ns = detail::real_now_ns();
    hub.add_live(*this);
    hub.schedule(this);
    detail::observe_spawn(*this, parent);
}

void GreenletBase::start_later(Duration delay) {
    if (state_.phase != Phase::New) return;
    const auto deadline = detail::deadline_after(delay, "GreenletBase::start_later");
    start();
    auto& hub = *static_cast<HubImpl*>(state_.hub);
    hub.unschedule(this);
    const std::int64_t due =
        deadline && *deadline != Deadline::min() ? detail::to_ns(*deadline) : detail::clock_now_ns();
    hub.arm_timer(Runtime::timer(state_.start_timer), due);
}

bool GreenletBase::join(std::optional<Duration> timeout) {
    if (dead()) return true;
    HubImpl& hub = hub_for(*this, "GreenletBase::join");
    if (hub.current_greenlet() == this)
        throw std::logic_error("grove: GreenletBase::join: a greenlet cannot join itself");
    Waiter w("join", this);
    Runtime::set_kind(w, detail::WaitKind::Join);
    WaitNode node(w);
    waiters().push_back(node);
    w.wait(timeout);
    return dead();
}

void GreenletBase::kill(std::exception_ptr e, bool block, std::optional<Duration> timeout) {
    if (dead()) return;
    HubImpl& hub = hub_for(*this, "GreenletBase::kill");
    if (!e) e = std::make_exception_ptr(GreenletExit());
    if (hub.current_greenlet() == this) std::rethrow_exception(e);
    if (state_.phase == Phase::New || state_.phase == Phase::Scheduled) {
        // Never begun: it never will. Its outcome is the kill.
        auto keep = state_.self;  // `this` may lose its last owner below
        hub.unschedule(this);
        hub.disarm_timer(Runtime::timer(state_.start_timer));
        if (!state_.hub) state_.hub = &hub;
        if (is_greenlet_exit(e))
            Runtime::finish(*this, nullptr, std::move(e));
        else
            Runtime::finish(*this, std::move(e), nullptr);
        state_.self.reset();
        return;
    }
    // A kill outranks a Timeout's error that has fired but not yet reached
    // the greenlet (it would be caught, and the kill lost); a second kill
    // while the first is undelivered keeps the first.
    if (!state_.pending || state_.pending_serial != 0) {
        state_.pending = std::move(e);
        state_.pending_serial = 0;
    }
    hub.schedule(this);
    if (block) join(timeout);
}

namespace {
GreenletBase::LinkId add_link(GreenletBase& g, detail::LinkKind kind, GreenletBase::LinkCallback cb, const char* call) {
    auto& s = Runtime::state(g);
    const GreenletBase::LinkId id = s.next_link_id++;
    s.links.push_back({id, kind, std::move(cb)});
    if (g.dead()) hub_for(g, call).queue_notification(g);  // already dead: runs on the next hub turn
    return id;
}
}  // namespace

GreenletBase::LinkId GreenletBase::link(LinkCallback cb) {
    return add_link(*this, detail::LinkKind::Any, std::move(cb), "GreenletBase::link");
}

GreenletBase::LinkId GreenletBase::link_value(LinkCallback cb) {
    return add_link(*this, detail::LinkKind::Value, std::move(cb), "GreenletBase::link_value");
}

GreenletBase::LinkId GreenletBase::link_exception(LinkCallback cb) {
    return add_link(*this, detail::LinkKind::Exception, std::move(cb), "GreenletBase::link_exception");
}

bool GreenletBase::unlink(LinkId id) {
    for (auto it = state_.links.begin(); it != state_.links.end(); ++it)
        if (it->id == id) {
            state_.links.erase(it);
            return true;
        }
    return false;
}

std::uint64_t GreenletBase::minimal_ident() const {
    auto& ident = const_cast<detail::GreenletState&>(state_).ident;
    if (ident == 0) ident = g_next_ident.fetch_add(1, std::memory_order_relaxed);
    return ident;
}

std::string GreenletBase::name() const {
    if (!state_.name.empty()) return state_.name;
    return fmt::format("Greenlet-{}", minimal_ident());
}

void GreenletBase::set_name(std::string name) { state_.name = std::move(name); }

std::string GreenletBase::describe_class() const { return detail::type_name(typeid(*this)); }

std::string GreenletBase::describe() const {
    std::string out = "<" + describe_class();
    if (!state_.name.empty()) out += " \"" + state_.name + "\"";
    out += fmt::format(" at {}", static_cast<const void*>(this));
    const std::string target = describe_target();
    if (!target.empty()) out += ": " + target;
    return out + ">";
}

std::exception_ptr detail::get_outcome(GreenletBase& g, bool block, std::optional<Duration> timeout) {
    if (!g.dead()) {
        if (!block) throw TimeoutError(0, "grove: Greenlet::get(block=false): the greenlet has not finished");
        if (!g.join(timeout))
            throw TimeoutError(
                0, fmt::format("grove: Greenlet::get: timed out after {} seconds", timeout ? timeout->count() : 0.0));
    }
    const auto& s = Runtime::state(g);
    if (s.error) std::rethrow_exception(s.error);
    return s.exit;
}

// --- free functions -------------------------------------------------------------

namespace {
/// The greenlets `call` may wait for: not null, of this thread, not the caller.
std::vector<Waitable*> waitable_others(const std::vector<Ref<GreenletBase>>& greenlets, const char* call) {
    GreenletBase* me = HubImpl::get().current_greenlet();
    std::vector<Waitable*> out;
    out.reserve(greenlets.size());
    for (std::size_t i = 0; i < greenlets.size(); ++i) {
        const auto& g = greenlets[i];
        if (!g) throw std::invalid_argument(fmt::format("grove: {}: the greenlet at index {} is null", call, i));
        hub_for(*g, call);
        if (g.get() == me) throw std::logic_error(fmt::format("grove: {}: a greenlet cannot join itself", call));
        out.push_back(g.get());
    }
    return out;
}
}  // namespace

std::vector<Ref<GreenletBase>> joinall(const std::vector<Ref<GreenletBase>>& greenlets, std::optional<Duration> timeout,
                                       bool raise_error) {
    // All at once, as gevent's iwait: each death is seen when it happens, so
    // with raise_error the first failure in time is raised at once, wherever
    // it sits in the input.
    IWait deaths(waitable_others(greenlets, "joinall"), timeout);
    while (auto i = deaths.next())
        if (raise_error && greenlets[*i]->exception()) std::rethrow_exception(greenlets[*i]->exception());
    std::vector<Ref<GreenletBase>> done;
    done.reserve(greenlets.size());
    for (const auto& g : greenlets)
        if (g->dead()) done.push_back(g);
    return done;
}

void killall(const std::vector<Ref<GreenletBase>>& greenlets, std::exception_ptr e, bool block,
             std::optional<Duration> timeout) {
    detail::deadline_after(timeout, "killall");  // a NaN timeout kills nobody
    GreenletBase* me = getcurrent();
    std::vector<Ref<GreenletBase>> others;
    others.reserve(greenlets.size());
    for (std::size_t i = 0; i < greenlets.size(); ++i) {
        const auto& g = greenlets[i];
        if (!g) throw std::invalid_argument(fmt::format("grove: killall: the greenlet at index {} is null", i));
        if (g.get() == me) continue;  // killing yourself would stop the loop half-way
        others.push_back(g);
    }
    for (const auto& g : others) g->kill(e, false);
    if (!block) return;
    const std::size_t dead = joinall(others, timeout).size();
    if (dead < others.size())  // gevent's killall documents ":raise Timeout"
        throw TimeoutError(0, fmt::format("grove: killall: {} of {} greenlets still alive after {} seconds",
                                          others.size() - dead, others.size(), timeout ? timeout->count() : 0.0));
}

void sleep(Duration d) {
    HubImpl& hub = HubImpl::get();
    if (d.count() > 0) {
        Waiter w("sleep");
        w.wait(d);
        return;
    }
    if (d.count() != d.count()) throw std::invalid_argument("grove: sleep: duration is NaN");
    hub.check_may_block("sleep");
    hub.schedule(hub.current_greenlet());
    hub.suspend();
}

void idle() {
    HubImpl& hub = HubImpl::get();
    Waiter w("idle");
    WaitNode node(w);
    hub.idle_waiters().push_back(node);
    w.wait();
}

GreenletBase* getcurrent() { return HubImpl::get().current_greenlet(); }

}  // namespace grove

namespace grove::detail {

// --- entry, finish and after-death ----------------------------------------------

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
        destroy_locals(g->state_.locals);  // its grove::local values, before joiners resume
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

// --- the hub's report and links of a dead greenlet ------------------------------

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
        // Each link is taken off the list just before it runs, so a callback
        // that unlinks a later one stops it. Links added while these run
        // (ids past `last`) are queued again for the next pass.
        const GreenletBase::LinkId last = s.next_link_id - 1;
        while (!s.links.empty() && s.links.front().id <= last) {
            auto link = std::move(s.links.front());
            s.links.erase(s.links.begin());
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

}  // namespace grove::detail
