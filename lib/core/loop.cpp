// grove internal — the hub's event loop: every libev call grove makes.
//
// The per-fd table: one FdEntry per fd, each with one ev_io watcher, armed
// for the union of its waiters' events, and the WaitList of those waits
// (FdWait, on each waiting greenlet's stack). A watcher whose last waiter left
// stays registered (active but unreferenced: it never keeps the loop alive)
// when grove owns the fd's lifetime, so the next wait costs no epoll_ctl; an
// idle watcher that fires for nobody is stopped at once (a level-triggered fd
// would otherwise spin the loop). Invariants:
//  - an FdWait is on its entry's list iff it counts in entry.readers/writers;
//  - entry.referenced iff its watcher is active and counted in the loop's
//    refs; an active watcher with no waiter is never referenced;
//  - an entry is "trusted" only after a Socket (which calls notify_close on
//    every close) armed it with ev_io_set, which sets libev's "fd changed"
//    flag. Every other (public wait_read/wait_write) wait re-arms that way
//    and stops its watcher when idle, so a reused fd number is re-added to
//    epoll rather than trusted to stale kernel state (libev: "the special
//    problem of disappearing file descriptors");
//  - the table belongs to the loop, and dies with it (unless a greenlet that
//    never unwound still waits on it: then it is left allocated).
// fd_close() stops the watcher and forgets the entry *before* the caller
// closes the fd, so no callback can ever reach a wait for whoever reuses the
// number. An EV_ERROR (libev found the fd invalid) wakes every wait with
// EBADF and leaves the entry stopped and untrusted.
#include "loop.hpp"

#include <algorithm>
#include <new>
#include <stdexcept>

#include <ev.h>

namespace grove::detail {

static_assert(kFdRead == EV_READ && kFdWrite == EV_WRITE, "kFdRead/kFdWrite must be libev's values");

namespace {
constexpr int kIoEvents = EV_READ | EV_WRITE;
}

// --- the loop, its wake-up timer and its inbox -------------------------------

struct Loop::Watchers {
    Loop* owner;
    Callback on_wakeup;
    Callback on_post;
    void* data;
    ev_timer wakeup{};  // never referenced
    ev_async async{};   // never referenced

    static void wakeup_cb(struct ev_loop* loop, ev_timer* w, int) {
        ev_ref(loop);  // libev stopped the one-shot timer before calling us: rebalance the unref
        auto* self = static_cast<Watchers*>(w->data);
        self->owner->wakeup_armed_ = false;
        self->on_wakeup(self->data);
    }
    static void async_cb(struct ev_loop*, ev_async* w, int) {
        auto* self = static_cast<Watchers*>(w->data);
        self->on_post(self->data);
    }
};

struct FdEntry {
    FdEntry(FdTable& t, int fd) noexcept : table(&t) {
        ev_io_init(&io, &FdEntry::ready_cb, fd, 0);
        io.data = this;
    }
    int wanted() const noexcept { return (readers ? EV_READ : 0) | (writers ? EV_WRITE : 0); }
    int fd() const noexcept { return io.fd; }

    static void ready_cb(struct ev_loop* loop, ev_io* io, int revents);

    FdTable* table;
    ev_io io{};
    WaitList waits;
    int readers = 0;
    int writers = 0;
    bool referenced = false;
    bool trusted = false;
    bool drained = false;  // Socket::recv's hint: the last recv came back short
};

/// The loop's fd → entry table (see the invariants above).
struct FdTable {
    struct ev_loop* loop = nullptr;
    std::vector<std::unique_ptr<FdEntry>> fds;

    FdEntry* find(int fd) const noexcept {
        return fd >= 0 && static_cast<std::size_t>(fd) < fds.size() ? fds[static_cast<std::size_t>(fd)].get() : nullptr;
    }
    FdEntry& get(int fd) {
        const auto i = static_cast<std::size_t>(fd);
        if (i >= fds.size()) fds.resize(std::max(i + 1, fds.size() * 2));
        if (!fds[i]) fds[i] = std::make_unique<FdEntry>(*this, fd);
        return *fds[i];
    }
    /// Active watcher → stopped, keeping the loop's refcount balanced.
    void stop(FdEntry& e) noexcept {
        if (!ev_is_active(&e.io)) return;
        if (!e.referenced) ev_ref(loop);
        ev_io_stop(loop, &e.io);
        e.referenced = false;
    }
    /// After a waiter left or was woken: an idle watcher keeps its
    /// registration (unreferenced) if trusted, else is stopped.
    void settle(FdEntry& e) noexcept {
        if (e.wanted() != 0 || !ev_is_active(&e.io)) return;
        if (!e.trusted) {
            stop(e);
        } else if (e.referenced) {
            ev_unref(loop);
            e.referenced = false;
        }
    }
};

Loop::Loop(Callback on_wakeup, Callback on_post, void* data) {
    loop_ = ev_loop_new(EVFLAG_AUTO);
    if (!loop_) throw std::runtime_error("grove: cannot create the libev loop (ev_loop_new failed)");
    watchers_ = std::make_unique<Watchers>();
    fds_ = std::make_unique<FdTable>();
    fds_->loop = loop_;
    Watchers& w = *watchers_;
    w.owner = this;
    w.on_wakeup = on_wakeup;
    w.on_post = on_post;
    w.data = data;
    ev_async_init(&w.async, &Watchers::async_cb);
    w.async.data = &w;
    ev_async_start(loop_, &w.async);
    ev_unref(loop_);  // cross-thread wake-ups never keep the loop alive by themselves
    ev_init(&w.wakeup, &Watchers::wakeup_cb);
    w.wakeup.data = &w;
}

Loop::~Loop() {
    bool waits = false;
    for (auto& e : fds_->fds)
        if (e) {
            fds_->stop(*e);
            waits = waits || !e->waits.empty();
        }
    // A wait still listed belongs to a greenlet that never unwound, on a
    // stack that may be gone: the table is deliberately left allocated
    // rather than have its WaitLists unlink those nodes.
    if (waits) (void)fds_.release();
    ev_ref(loop_);
    ev_async_stop(loop_, &watchers_->async);
    stop_wakeup();
    ev_loop_destroy(loop_);
}

int Loop::poll_nowait() noexcept { return ev_run(loop_, EVRUN_NOWAIT); }
int Loop::block_once() noexcept { return ev_run(loop_, EVRUN_ONCE); }
void Loop::hold() noexcept { ev_ref(loop_); }
void Loop::release() noexcept { ev_unref(loop_); }

void Loop::arm_wakeup(double after_s) noexcept {
    stop_wakeup();
    ev_now_update(loop_);
    ev_timer_set(&watchers_->wakeup, after_s > 0 ? after_s : 0., 0.);
    ev_timer_start(loop_, &watchers_->wakeup);
    ev_unref(loop_);
    wakeup_armed_ = true;
}

void Loop::stop_wakeup() noexcept {
    if (!wakeup_armed_) return;
    ev_ref(loop_);  // libev: re-reference an unreferenced watcher before stopping it
    ev_timer_stop(loop_, &watchers_->wakeup);
    wakeup_armed_ = false;
}

void Loop::post(std::function<void()> fn) {
    {
        std::lock_guard<std::mutex> lock(inbox_mutex_);
        inbox_.push_back(std::move(fn));
    }
    ev_async_send(loop_, &watchers_->async);
}

std::vector<std::function<void()>> Loop::take_posted() {
    std::vector<std::function<void()>> out;
    std::lock_guard<std::mutex> lock(inbox_mutex_);
    out.swap(inbox_);
    return out;
}

void Loop::after_fork() noexcept { ev_loop_fork(loop_); }

void Loop::feed_fd(int fd, int events) noexcept { ev_feed_fd_event(loop_, fd, events & kIoEvents); }

// --- fd waits -------------------------------------------------------------------

FdWait::FdWait(Waiter& waiter, Loop& loop, int fd, int events, bool owned)
    : WaitNode(waiter), table_(loop.fds_.get()), events_(events) {
    FdEntry* known = table_->find(fd);
    FdEntry& e = known ? *known : table_->get(fd);
    entry_ = &e;
    const bool rearm = !e.trusted;
    if (owned) e.trusted = true;
    e.waits.push_back(*this);
    count(+1);
    arm(rearm);
}

FdWait::~FdWait() {
    if (!linked()) return;  // woken, or the entry was dropped with its table
    unlink();
    count(-1);
    table_->settle(*entry_);
}

void FdWait::finish(bool closed) noexcept {
    count(-1);
    closed_ = closed;
    waiter().wake();
}

void FdWait::count(int d) noexcept {
    if (events_ & EV_READ) entry_->readers += d;
    if (events_ & EV_WRITE) entry_->writers += d;
}

void FdWait::arm(bool rearm) noexcept {
    FdEntry& e = *entry_;
    const int want = e.wanted();
    const bool active = ev_is_active(&e.io);
    const int cur = active ? (e.io.events & kIoEvents) : 0;
    if (active && !rearm && (want & ~cur) == 0) {
        if (!e.referenced) {
            ev_ref(table_->loop);
            e.referenced = true;
        }
        return;
    }
    table_->stop(e);
    if (rearm)
        ev_io_set(&e.io, e.fd(), want);  // "fd changed": re-added to epoll, never trusted
    else
        ev_io_modify(&e.io, want);
    ev_io_start(table_->loop, &e.io);
    e.referenced = true;
}

void FdEntry::ready_cb(struct ev_loop* loop, ev_io* io, int revents) {
    auto& e = *static_cast<FdEntry*>(io->data);
    FdTable& t = *e.table;
    if (revents & EV_ERROR) {
        // libev found the fd invalid and stopped the watcher (dropping a ref
        // an idle watcher had already given back): wake everyone with EBADF.
        if (!ev_is_active(io)) {
            if (!e.referenced) ev_ref(loop);
            e.referenced = false;
        }
        t.stop(e);
        e.trusted = false;
        while (WaitNode* n = e.waits.pop_front()) static_cast<FdWait*>(n)->finish(true);
        return;
    }
    const int got = revents & kIoEvents;
    bool woke = false;
    WaitList rest;
    while (WaitNode* n = e.waits.pop_front()) {
        auto* w = static_cast<FdWait*>(n);
        if (w->events() & got) {
            w->finish(false);
            woke = true;
        } else {
            rest.push_back(*w);
        }
    }
    while (WaitNode* n = rest.pop_front()) e.waits.push_back(*n);
    if (woke) {
        t.settle(e);
        return;
    }
    // Ready for nobody: drop the interest, or the level-triggered fd fires
    // again at every loop turn.
    const int want = e.wanted();
    t.stop(e);
    if (want) {
        ev_io_modify(&e.io, want);
        ev_io_start(loop, &e.io);
        e.referenced = true;
    }
}

bool Loop::fd_vouched(int fd) const noexcept {
    const FdEntry* k = fds_->find(fd);
    return k && (k->trusted || ev_is_active(&k->io));
}

bool Loop::fd_read_drained(int fd) const noexcept {
    const FdEntry* e = fds_->find(fd);
    return e && e->drained;
}

void Loop::fd_note_read(int fd, bool drained) noexcept {
    if (FdEntry* e = fds_->find(fd)) e->drained = drained;
}

void Loop::fd_release(int fd) noexcept {
    FdEntry* e = fds_->find(fd);
    if (!e) return;
    e->trusted = false;
    e->drained = false;
    if (e->waits.empty()) {
        fds_->stop(*e);
        fds_->fds[static_cast<std::size_t>(fd)].reset();
    }
}

void Loop::fd_close(int fd) noexcept {
    FdEntry* e = fds_->find(fd);
    if (!e) return;
    fds_->stop(*e);
    while (WaitNode* n = e->waits.pop_front()) static_cast<FdWait*>(n)->finish(true);
    fds_->fds[static_cast<std::size_t>(fd)].reset();
}

// --- the hooks' poll/select watchers -----------------------------------------------

struct PollWatch::Io {
    ev_io io;
};

namespace {
void poll_io_cb(struct ev_loop*, ev_io* w, int) { static_cast<Waiter*>(w->data)->wake(); }
}  // namespace

PollWatch::PollWatch(Loop& loop, Waiter& waiter, std::size_t capacity)
    : loop_(loop), waiter_(waiter), ios_(std::make_unique<Io[]>(capacity)) {}

PollWatch::~PollWatch() {
    for (std::size_t i = 0; i < started_; ++i) ev_io_stop(loop_.loop_, &ios_[i].io);
}

void PollWatch::add(int fd, int events) noexcept {
    ev_io& io = ios_[started_].io;
    ev_io_init(&io, poll_io_cb, fd, events & kIoEvents);
    io.data = &waiter_;
    ev_io_start(loop_.loop_, &io);
    ++started_;
}

// --- signal watchers ----------------------------------------------------------------

struct SignalWatch::Impl {
    ev_signal watcher{};
    Loop::Callback fired;
    void* data;

    static void cb(struct ev_loop*, ev_signal* w, int) {
        auto* self = static_cast<Impl*>(w->data);
        self->fired(self->data);
    }
};

SignalWatch::SignalWatch(Loop& loop, int signum, Loop::Callback fired, void* data)
    : loop_(loop), signum_(signum), impl_(std::make_unique<Impl>()) {
    impl_->fired = fired;
    impl_->data = data;
    ev_signal_init(&impl_->watcher, &Impl::cb, signum);
    impl_->watcher.data = impl_.get();
    ev_signal_start(loop_.loop_, &impl_->watcher);
    ev_unref(loop_.loop_);  // a handler alone never keeps the hub alive
}

SignalWatch::~SignalWatch() {
    ev_ref(loop_.loop_);
    ev_signal_stop(loop_.loop_, &impl_->watcher);
}

// --- async wake-ups ---------------------------------------------------------------

static_assert(sizeof(ev_async) <= 64 && alignof(ev_async) <= alignof(std::max_align_t));

namespace {
ev_async* as_async(unsigned char* storage) { return reinterpret_cast<ev_async*>(storage); }
}  // namespace

AsyncWatch::AsyncWatch(Loop& loop, Loop::Callback fired, void* data) : loop_(loop), fired_(fired), data_(data) {
    ev_async* w = new (watcher_) ev_async{};
    ev_async_init(w, [](struct ev_loop*, ev_async* a, int) {
        auto* self = static_cast<AsyncWatch*>(a->data);
        self->fired_(self->data_);
    });
    w->data = this;
    ev_async_start(loop_.loop_, w);
    ev_unref(loop_.loop_);  // a wake-up alone never keeps the hub alive
}

AsyncWatch::~AsyncWatch() {
    ev_ref(loop_.loop_);
    ev_async_stop(loop_.loop_, as_async(watcher_));
}

void AsyncWatch::send() noexcept { ev_async_send(loop_.loop_, as_async(watcher_)); }

}  // namespace grove::detail
