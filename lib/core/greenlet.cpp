// grove internal — a greenlet's life: GreenletBase and the free functions of
// <grove/greenlet.hpp>; its entry on a fresh stack, its finish, what runs
// after its death (the stack's release, the report and its links).
#include <cstdio>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "clock.hpp"
#include "compact.hpp"
#include "context.hpp"
#include "local_storage.hpp"
#include "report.hpp"
#include "observer.hpp"
#include "runtime.hpp"

namespace grove {

using detail::GreenletState;
using detail::HubImpl;
using detail::Runtime;

namespace {

std::atomic<std::uint64_t> g_next_ident{1};

[[gnu::always_inline]] inline HubImpl& hub_for(const GreenletBase& g, const char* call) {
    HubImpl& hub = HubImpl::get();
    if (Hub* own = Runtime::record(g).hub; own && own != &hub) [[unlikely]]
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

GreenletBase::GreenletBase() : record_(detail::make_record()) {}

GreenletBase::~GreenletBase() {
    if (detail::on_ready_queue(record_->state) && record_->hub) static_cast<HubImpl*>(record_->hub)->unschedule(this);
    detail::destroy_record(record_);
}

bool GreenletBase::started() const noexcept { return record_->state != GreenletState::New; }
bool GreenletBase::dead() const noexcept { return detail::is_dead(record_->state); }
bool GreenletBase::successful() const noexcept { return dead() && !record_->error; }
std::exception_ptr GreenletBase::exception() const noexcept { return record_->error; }
Hub* GreenletBase::hub() const noexcept { return record_->hub; }

void GreenletBase::set_options(SpawnOptions options) {
    if (started()) throw std::logic_error("grove: GreenletBase::set_options: the greenlet was already started");
    record_->stack_request = options.stack_size;
    record_->compact_chosen = options.compact.has_value();
    record_->ctx.compact = options.compact.value_or(false);
    if (!options.name.empty()) record_->name = std::move(options.name);
}

void GreenletBase::start() {
    if (record_->state != GreenletState::New) return;
    auto self = weak_from_this().lock();
    if (!self)
        throw std::logic_error(
            "grove: GreenletBase::start: the greenlet must be owned by a grove::Ref (create it with grove::make or "
            "grove::spawn)");
    start_owned(std::move(self));
}

void GreenletBase::start_owned(std::shared_ptr<GreenletBase> self) {
    detail::GreenletRecord& r = *record_;
    if (r.state != GreenletState::New) return;
    HubImpl& hub = HubImpl::get();
    r.self = std::move(self);
    r.hub = &hub;
    if (!r.compact_chosen) r.ctx.compact = hub.compact_default();
    if (r.ctx.compact) detail::t_compact_started = true;
    GreenletBase& parent = *hub.current_greenlet();
    r.parent_ident = parent.minimal_ident();
    if (hub.timing()) r.spawned_at_ns = detail::real_now_ns();
    hub.add_live(*this);
    hub.schedule_new(this);
    detail::observe_spawn(*this, parent);
}

void GreenletBase::start_later(Duration delay) {
    if (record_->state != GreenletState::New) return;
    const auto deadline = detail::deadline_after(delay, "GreenletBase::start_later");
    // Its timer's room is made here, not kept in every record (few greenlets
    // start late), and before start(): out of memory leaves it not started.
    record_->start_timer = std::make_unique<detail::TimerSlot>();
    start();
    auto& hub = *static_cast<HubImpl*>(record_->hub);
    hub.unschedule(this);  // Scheduled -> Delayed
    const std::int64_t due =
        deadline && *deadline != Deadline::min() ? detail::to_ns(*deadline) : detail::clock_now_ns();
    // Its timer comes to life here: only a Delayed greenlet has one.
    hub.arm_timer(Runtime::init_timer(*record_->start_timer, &start_timer_fired, this), due);
}

bool GreenletBase::join(std::optional<Duration> timeout) {
    if (dead()) return true;
    HubImpl& hub = hub_for(*this, "GreenletBase::join");
    if (hub.current_greenlet() == this)
        throw std::logic_error("grove: GreenletBase::join: a greenlet cannot join itself");
    WaitSite<> site("join", this);  // on the heap for a compact joiner, so it can be copied out
    Runtime::set_kind(site.waiter(), detail::WaitKind::Join);
    waiters().push_back(site.node());
    site.waiter().wait(timeout);
    return dead();
}

void GreenletBase::kill(std::exception_ptr e, bool block, std::optional<Duration> timeout) {
    if (dead()) return;
    HubImpl& hub = hub_for(*this, "GreenletBase::kill");
    if (!e) e = std::make_exception_ptr(GreenletExit());
    if (hub.current_greenlet() == this) std::rethrow_exception(e);
    detail::GreenletRecord& r = *record_;
    if (r.state == GreenletState::New || detail::not_begun(r.state)) {
        // Never begun: it never will. Its outcome is the kill.
        auto keep = r.self;  // `this` may lose its last owner below
        if (r.state == GreenletState::Delayed) hub.disarm_timer(Runtime::timer(*r.start_timer));
        hub.unschedule(this);
        if (!r.hub) r.hub = &hub;
        if (is_greenlet_exit(e))
            Runtime::finish(*this, nullptr, std::move(e));
        else
            Runtime::finish(*this, std::move(e), nullptr);
        r.self.reset();
        return;
    }
    r.interrupts.deliver({std::move(e), detail::kKillSource});
    hub.schedule(this);
    if (block) join(timeout);
}

namespace {
GreenletBase::LinkId add_link(GreenletBase& g, detail::LinkKind kind, GreenletBase::LinkCallback cb, const char* call) {
    auto& s = Runtime::record(g);
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
    for (auto it = record_->links.begin(); it != record_->links.end(); ++it)
        if (it->id == id) {
            record_->links.erase(it);
            return true;
        }
    return false;
}

std::uint64_t GreenletBase::minimal_ident() const {
    auto& ident = record_->ident;
    if (ident == 0) ident = g_next_ident.fetch_add(1, std::memory_order_relaxed);
    return ident;
}

std::string GreenletBase::name() const {
    if (!record_->name.empty()) return record_->name;
    return fmt::format("Greenlet-{}", minimal_ident());
}

void GreenletBase::set_name(std::string name) { record_->name = std::move(name); }

std::string GreenletBase::describe_class() const { return detail::type_name(typeid(*this)); }

std::string GreenletBase::describe() const {
    std::string out = "<" + describe_class();
    if (!record_->name.empty()) out += " \"" + record_->name + "\"";
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
    const auto& s = Runtime::record(g);
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
        if (Runtime::record(*hub.current_greenlet()).ctx.compact) [[unlikely]] {
            // On the heap, so that nothing the hub touches while it sleeps is
            // on its stack: it can be copied out (lib/core/compact.hpp).
            const auto w = std::make_unique<Waiter>("sleep");
            w->wait(d);
            return;
        }
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
            g->record_->trace = take_throw_trace(error);
        }
        // Its grove::local values, before joiners resume. A destructor may
        // wait (the greenlet's first wait moves its record): destroy_locals
        // reads the slot afresh each round.
        destroy_locals(*g);
        finish(*g, std::move(error), std::move(exit));
    }
    // No switch until context_exit below: the record leaves the stack now.
    if (g->record_->home == RecordHome::Stack) move_record_off_stack(*g);
    // Straight to the hub when it has a report or links to run, so they come
    // before any joiner resumes (as in gevent).
    GreenletBase* next = g->record_->state == GreenletState::Notifying ? &hub.hub_greenlet_ : hub.pick_next();
    if (next->record_->state == GreenletState::Scheduled && !hub.prepare(next)) next = &hub.hub_greenlet_;
    hub.current_ = next;
    GreenletRecord& n = *next->record_;
    n.state = GreenletState::Begun;
    ++n.switches;
    hub.note_switch(g);
    context_exit(g->record_->ctx, n.ctx, &HubImpl::after_death, g);
}

void HubImpl::after_death(void* dead) noexcept {
    auto* g = static_cast<GreenletBase*>(dead);
    GreenletRecord& s = Runtime::record(*g);
    // A record still on its stack (no memory to move it to) keeps the stack.
    if (s.home != RecordHome::Stack) static_cast<HubImpl*>(s.hub)->stacks_.release(s.ctx);
    auto self = std::move(s.self);  // may destroy the greenlet object here
}

// --- where the record lives (greenlet_record.hpp) ----------------------------

void Runtime::relocate_record(GreenletBase& g, void* to, RecordHome home) noexcept {
    GreenletRecord* from = g.record_;
    auto* r = new (to) GreenletRecord(std::move(*from));
    r->home = home;
    // Published before the old one goes: a signal handler on this thread
    // (lib/util/monitor.cpp) may read the record at any instruction.
    g.record_ = r;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    const RecordHome old = from->home;
    from->~GreenletRecord();
    free_record_memory(from, old, home == RecordHome::Stack);
}

GreenletRecord& Runtime::move_record_to_stack(GreenletBase& g) noexcept {
    g.record_->moves_at_first_wait = false;
    relocate_record(g, record_room(g.record_->ctx), RecordHome::Stack);
    return *g.record_;
}

void Runtime::move_record_off_stack(GreenletBase& g) noexcept {
    RecordHome home = RecordHome::Slab;
    void* room = nullptr;
    try {
        room = record_slab_allocate();
    } catch (...) {
    }
    if (!room) {
        home = RecordHome::Heap;
        room = ::operator new(sizeof(GreenletRecord), std::nothrow);
        if (!room) return;  // out of memory: the record stays, and after_death keeps its stack
    }
    relocate_record(g, room, home);
}

void Runtime::finish(GreenletBase& g, std::exception_ptr error, std::exception_ptr exit) {
    GreenletRecord& s = *g.record_;
    auto& hub = *static_cast<HubImpl*>(s.hub);
    if (started_alive(s.state)) hub.remove_live(g);
    s.state = GreenletState::Dead;
    s.error = std::move(error);
    s.exit = std::move(exit);
    s.interrupts.clear();
    observe_death(g);
    g.waiters().notify_all();
    if (s.error || !s.links.empty()) hub.queue_notification(g);
}

// --- the hub's report and links of a dead greenlet ------------------------------

void HubImpl::process_notifications() {
    auto batch = std::move(notify_);
    notify_.clear();
    for (auto& g : batch) {
        GreenletRecord& s = Runtime::record(*g);
        s.state = GreenletState::Dead;  // off the notification queue
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
    GreenletRecord& s = Runtime::record(g);
    if (s.state == GreenletState::Notifying) return;
    auto self = s.self ? s.self : g.weak_from_this().lock();
    if (!self) {  // not owned by a Ref: report at once, there is nobody to link
        if (s.error && !s.reported) {
            s.reported = true;
            report_error(g.describe(), s.error, s.trace);
        }
        return;
    }
    notify_.push_back(std::move(self));
    s.state = GreenletState::Notifying;
}

}  // namespace grove::detail
