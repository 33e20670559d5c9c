// grove internal — the hub's machinery: ready queue, switching, death.
//
// detail::Runtime is the friend through which lib/ reaches the private state
// of GreenletBase, Waiter and Timeout; HubImpl is the concrete Hub.
#pragma once

#include "internal.hpp"

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/timeout.hpp>
#include <grove/waiter.hpp>

#include "clock.hpp"
#include "compact.hpp"
#include "greenlet_record.hpp"
#include "loop.hpp"
#include "stack.hpp"
#include "timers.hpp"

namespace grove::detail {

/// The hub greenlet's own stack (it runs libev's callbacks and the loop).
inline constexpr std::size_t kHubStackSize = 256 * 1024;

class HubImpl;

/// Hub::Remote's state: the hub to post to, null once it is destroyed.
class RemoteImpl final : public Hub::Remote {
public:
    std::mutex mutex;
    HubImpl* hub = nullptr;  // guarded by mutex
};

/// This thread's hub, or null (lib/core/hub.cpp). initial-exec and constinit: a
/// plain %fs-relative load wherever the hub is looked up.
[[gnu::tls_model("initial-exec")]] extern constinit thread_local HubImpl* t_hub;

/// A FIFO of greenlets ready to run, linked through their state (no
/// allocation). A greenlet is on it at most once: while on_ready_queue(record.state).
class ReadyQueue {
public:
    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }
    void push_back(GreenletBase* g) noexcept;
    /// Removes and returns the first greenlet. Its state still says Ready (or
    /// Scheduled) until the switch into it, which follows at once.
    GreenletBase* pop_front() noexcept;
    /// Like pop_front(), the `i`th from the front (i < size()), walking from the nearer end.
    GreenletBase* pop_at(std::size_t i) noexcept;
    /// Takes `g` off the queue if it is on it: Ready becomes Begun, Scheduled Delayed.
    void remove(GreenletBase* g) noexcept;

private:
    /// From this many ready greenlets on, their records and stacks no longer
    /// sit in cache: each switch would wait on a chain of misses (the record,
    /// its saved stack pointer, that stack's frames). pop_front starts the
    /// next ones' loads early (measured in bench/RESULTS.md, "Cost as N grows").
    static constexpr std::size_t kPrefetchFrom = 512;
    [[gnu::noinline]] void prefetch_ahead(const GreenletRecord& popped) const noexcept;
    void unlink(GreenletRecord& r) noexcept;
    GreenletBase* head_ = nullptr;
    GreenletBase* tail_ = nullptr;
    std::size_t size_ = 0;
};

/// The thread's own stack, as a greenlet.
class MainGreenlet final : public GreenletBase {
protected:
    void run_body() override {}
    std::string describe_class() const override { return "MainGreenlet"; }
};

/// The hub's loop fiber, as a greenlet (getcurrent() inside libev callbacks).
class HubGreenlet final : public GreenletBase {
protected:
    void run_body() override {}
    std::string describe_class() const override { return "Hub"; }
};

/// Waiter kinds the runtime tells apart (Waiter::kind_; Other is the default).
enum class WaitKind : unsigned char { Other = 0, Join };

struct Runtime {
    static GreenletRecord& record(GreenletBase& g) noexcept { return *g.record_; }
    static const GreenletRecord& record(const GreenletBase& g) noexcept { return *g.record_; }
    static void run_body(GreenletBase& g) { g.run_body(); }

    /// The entry point of every greenlet stack (never returns).
    [[noreturn]] static void greenlet_main();
    /// Marks `g` dead with the given outcome and wakes whoever waits on it.
    static void finish(GreenletBase& g, std::exception_ptr error, std::exception_ptr exit);
    /// The running `g` waits for the first time: its record moves into its
    /// stack's record room (greenlet_record.hpp). Returns the moved record.
    static GreenletRecord& move_record_to_stack(GreenletBase& g) noexcept;
    /// The running `g` has died: its record leaves the stack about to go.
    static void move_record_off_stack(GreenletBase& g) noexcept;
    /// Moves `g`'s record to `to` (raw room of kRecordSlotBytes), where it
    /// lives as `home`, and frees the old one's memory. Never fails.
    static void relocate_record(GreenletBase& g, void* to, RecordHome home) noexcept;

    // Waiter internals.
    static WaitKind kind(const Waiter& w) noexcept { return w.kind_; }
    static void set_kind(Waiter& w, WaitKind k) noexcept { w.kind_ = k; }
    static void waiter_timer_fired(Waiter& w) noexcept;
    static void waiter_stop_timer(Waiter& w) noexcept;
    /// The HubTimer in `slot`; init_timer() began its life in the owner's constructor.
    static HubTimer& timer(TimerSlot& slot) noexcept { return *std::launder(reinterpret_cast<HubTimer*>(slot.bytes)); }
    static HubTimer& init_timer(TimerSlot& slot, HubTimer::Fire fire, void* data) noexcept {
        auto* t = new (slot.bytes) HubTimer{};
        t->fire = fire;
        t->data = data;
        return *t;
    }

    // Timeout internals.
    static void timeout_fired(Timeout& t) noexcept;
    static std::uint64_t serial(const Timeout& t) noexcept { return t.serial_; }
    /// The error `t` throws, with its serial as the source (never throws: out
    /// of memory, the bad_alloc is the error).
    static Interrupt timeout_interrupt(const Timeout& t) noexcept;
    static TimeoutDelivery& timeout_delivery(Timeout& t) noexcept { return t.delivery_; }
    static Timeout*& timeout_next(Timeout& t) noexcept { return t.queued_next_; }
};

inline GreenletBase* ReadyQueue::pop_front() noexcept {
    GreenletBase* g = head_;
    if (!g) return nullptr;
    GreenletRecord& s = Runtime::record(*g);
    head_ = s.ready_next;
    if (head_)
        Runtime::record(*head_).ready_prev = nullptr;
    else
        tail_ = nullptr;
    s.ready_next = nullptr;  // ready_prev is null at the head
    if (--size_ >= kPrefetchFrom) [[unlikely]]
        prefetch_ahead(s);
    return g;
}

static_assert(sizeof(HubTimer) <= sizeof(TimerSlot) && alignof(HubTimer) <= alignof(TimerSlot),
              "TimerSlot too small for a HubTimer");

/// The thread's hub. Invariants:
///  - exactly one greenlet runs at a time: current_;
///  - a greenlet is on ready_ iff it is runnable and not running;
///  - the hub greenlet is never on ready_; it runs when nobody else can.
class HubImpl final : public Hub {
public:
    HubImpl();
    ~HubImpl() override;

    static HubImpl* current() noexcept { return t_hub; }  // this thread's hub or null
    /// This thread's hub, created on demand.
    static HubImpl& get() {
        if (HubImpl* hub = t_hub) [[likely]]
            return *hub;
        return create();
    }

    GreenletBase* current_greenlet() const noexcept { return current_; }
    /// Whether the running greenlet is compact (lib/core/compact.hpp): a wait
    /// built to let it be copied out keeps its Waiter and nodes on the heap.
    bool current_is_compact() const noexcept { return t_compact_started && Runtime::record(*current_).ctx.compact; }
    bool in_hub() const noexcept { return current_ == &hub_greenlet_; }
    bool is_main_current() const noexcept { return current_ == &main_; }
    Loop& event_loop() noexcept { return loop_; }
    StackPool& stacks() noexcept { return stacks_; }

    /// Makes `g` runnable (idempotent). Never switches.
    void schedule(GreenletBase* g) noexcept {
        GreenletRecord& r = Runtime::record(*g);
        if (r.state == GreenletState::Begun) [[likely]] {  // suspended, or running and about to yield
            r.state = GreenletState::Ready;
            ready_.push_back(g);
        } else {
            schedule_slow(g);
        }
    }
    void unschedule(GreenletBase* g) noexcept;
    /// Puts a greenlet whose body has not begun (start(), start_later's timer) on the ready queue.
    void schedule_new(GreenletBase* g) noexcept {
        Runtime::record(*g).state = GreenletState::Scheduled;
        ready_.push_back(g);
    }
    /// The running greenlet gives up control until something schedules it;
    /// then throws its pending kill/Timeout, if any. std::logic_error on the hub.
    void suspend();
    /// Queues the death notification of `g` (report + links) for the hub.
    void queue_notification(GreenletBase& g);
    void add_live(GreenletBase& g) noexcept;
    void remove_live(GreenletBase& g) noexcept;

    /// Throws std::logic_error naming `call` if the running greenlet is the hub.
    void check_may_block(const char* call) const {
        if (current_ == &hub_greenlet_) [[unlikely]]
            throw_cannot_block(call);
    }

    // Hub API
    bool join_impl(std::optional<Duration> timeout);
    void destroy_impl();
    void post_from_thread(std::function<void()> fn);
    void add_callback(std::function<void()> fn);

    /// Runs the loop once without blocking, then returns how many active
    /// watchers keep it alive (0 and nothing ready: the hub has run dry).
    int poll_and_count_alive_watchers() { return loop_.poll_nowait(); }

    // Timers (lib/core/timers.hpp): everything timed goes through these.
    /// Arms `t` (disarming it first if armed) to fire at `due_ns` on grove's
    /// clock. May throw std::bad_alloc, leaving `t` disarmed.
    void arm_timer(HubTimer& t, std::int64_t due_ns);
    /// Arms `t` to fire `after` seconds from now (<= 0: at the next loop turn).
    void arm_timer_after(HubTimer& t, double after);
    void disarm_timer(HubTimer& t) noexcept {
        if (t.armed()) disarm_armed_timer(t);
    }
    std::size_t armed_timers() const noexcept { return timers_.size(); }
    /// Leaves or enters virtual time: moves every armed due by `delta_ns`.
    void shift_timers(std::int64_t delta_ns) noexcept;

    WaitList& idle_waiters() noexcept { return idle_waiters_; }
    /// Greenlets started on this hub and not yet dead (Hub::live_count).
    std::size_t live_count() const noexcept { return live_count_; }
    void set_compact_default(bool on) noexcept { compact_default_ = on; }
    bool compact_default() const noexcept { return compact_default_; }

    /// Text for LoopExit: who waits on what.
    std::string describe_waiters() const;
    std::string describe_join_cycle() const;

    // Observability: lib/util/ (run info, the monitor) reads these.
    GreenletBase* live_head() const noexcept { return live_head_; }
    GreenletBase& main_greenlet() noexcept { return main_; }
    GreenletBase& hub_greenlet() noexcept { return hub_greenlet_; }
    const std::vector<std::shared_ptr<GreenletBase>>& queued_notifications() const noexcept { return notify_; }
    /// Switches so far. Written by the hub's thread only; any thread may read.
    std::uint64_t switch_epoch() const noexcept { return switch_epoch_.load(std::memory_order_relaxed); }
    /// True while the hub sleeps in ev_run(EVRUN_ONCE): idle, not blocked.
    bool polling() const noexcept { return polling_.load(std::memory_order_relaxed); }
    /// Whether this hub measures greenlet running and spawn times.
    bool timing() const noexcept { return timing_; }
    /// Fills `pcs` with the return addresses of suspended `target`'s stack,
    /// innermost first, by resuming it for an instant at its switch point
    /// (it runs none of its own code, and stays ready or parked as it was);
    /// returns how many (lib/core/probe.cpp). Hub's thread only; `target` must
    /// have begun, be alive and not be running.
    std::size_t probe_stack(GreenletBase& target, std::uintptr_t* pcs, std::size_t capacity) noexcept;

private:
    friend struct Runtime;
    static HubImpl& create();
    void schedule_slow(GreenletBase* g) noexcept;
    [[noreturn]] static void throw_cannot_block(const char* call);
    static void hub_main();
    [[noreturn]] void run_loop();
    void switch_to(GreenletBase* next) noexcept;
    GreenletBase* pick_next() noexcept;
    /// Gives a greenlet that has not begun its stack and context; if no stack
    /// can be mapped, finishes it with that error and returns false.
    bool prepare(GreenletBase* g) noexcept;
    /// switch_to's way with a `next` that has not begun (kept out of the hot path).
    [[gnu::noinline]] GreenletBase* prepare_first(GreenletBase* cur, GreenletBase* next) noexcept;
    void process_notifications();
    void run_callbacks();
    void loop_ran_dry();
    void deliver_pending(GreenletBase* g);
    /// The next ready greenlet: FIFO, or seeded in deterministic mode.
    GreenletBase* pop_ready() noexcept {
        if (t_deterministic.seeded_order && ready_.size() > 1) [[unlikely]]
            return pop_seeded();
        return ready_.pop_front();
    }
    GreenletBase* pop_seeded() noexcept;
    void disarm_armed_timer(HubTimer& t) noexcept;
    /// What the armed timers add to the loop's count of watchers that keep it
    /// alive: one hold while any referenced timer is armed (timers.cpp).
    int timer_holds() const noexcept { return timers_.referenced() > 0 ? 1 : 0; }
    /// Fires every timer due on grove's clock, then asks libev for the next wake-up.
    void fire_due_timers() noexcept;
    void rearm_wakeup() noexcept;
    static void wakeup_cb(void* hub) noexcept;
    /// Virtual clock: runs the loop once without blocking (letting in I/O
    /// that is already there), then answers whether the hub may jump to the
    /// earliest timer (every greenlet waits on time: nothing ready, no other
    /// watcher keeps the loop alive).
    bool poll_then_only_time_can_wake();
    /// Virtual clock: adds the real time spent blocked since `blocked_since_ns_`.
    void catch_up_virtual_clock() noexcept;
    static void posted_cb(void* hub) noexcept;
    static void after_death(void* dead_greenlet) noexcept;
    static bool describe_overflow(const void* fault, const void* sp, char* out, std::size_t out_size);
    struct Probe;
    /// In switch_to, when `cur` is resumed while a probe_stack() is asking
    /// for it: records its stack, switches back, repeats until resumed for real.
    void answer_probes(GreenletBase* cur) noexcept;
    /// Every switch away from `cur`: the monitor's epoch, and timing if on.
    void note_switch(GreenletBase* cur) noexcept {
        switch_epoch_.store(switch_epoch_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        if (timing_) [[unlikely]]
            account_time(cur);
    }
    void account_time(GreenletBase* cur) noexcept;  // lib/core/observer.cpp

    Loop loop_{&HubImpl::wakeup_cb, &HubImpl::posted_cb, this};
    MainGreenlet main_;
    HubGreenlet hub_greenlet_;
    GreenletBase* current_ = nullptr;
    ReadyQueue ready_;
    int direct_budget_ = 0;
    Clock::time_point last_poll_{};
    StackPool stacks_;
    std::vector<std::shared_ptr<GreenletBase>> notify_;
    std::vector<std::function<void()>> callbacks_;
    WaitList idle_waiters_;
    TimerHeap timers_;
    std::int64_t wakeup_due_ns_ = 0;     // what the loop's wake-up timer is armed for, while armed
    std::int64_t blocked_since_ns_ = 0;  // virtual clock: real time the current ev_run(ONCE) began
    GreenletBase* live_head_ = nullptr;
    std::size_t live_count_ = 0;
    Waiter* joiner_ = nullptr;  // the wait of Hub::join, woken when the loop runs dry
    bool destroying_ = false;
    Probe* probe_ = nullptr;           // set only while probe_stack() waits for an answer
    bool timing_ = false;              // measure GreenletRecord::run_ns (fixed at creation)
    bool compact_default_ = false;     // Hub::set_compact_default
    std::int64_t slice_start_ns_ = 0;  // when the running greenlet was switched into (timing_)
    std::atomic<std::uint64_t> switch_epoch_{0};
    std::atomic<bool> polling_{false};
};

}  // namespace grove::detail
