// grove internal — wait_read / wait_write / notify_close on libev io watchers.
//
// A per-thread table keeps one FdEntry per fd: one ev_io watcher, armed for
// the union of its waiters' events, and the WaitList of those waits (FdWait,
// on each waiting greenlet's stack). A watcher whose last waiter left stays
// registered (active but unreferenced: it never keeps the loop alive) when
// grove owns the fd's lifetime, so the next wait costs no epoll_ctl; an idle
// watcher that fires for nobody is stopped at once (a level-triggered fd
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
//  - the table belongs to one hub (identified by its Remote, which the table
//    keeps alive); a table found from an earlier hub is dropped without
//    touching the dead loop.
// notify_close() stops the watcher and forgets the entry *before* the caller
// closes the fd, so no callback can ever reach a wait for whoever reuses the
// number. An EV_ERROR (libev found the fd invalid) wakes every wait with
// EBADF and leaves the entry stopped and untrusted.
#include "fd_wait.hpp"
#include "../wait_object.hpp"

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <ev.h>
#include <fmt/format.h>

#include <grove/exceptions.hpp>
#include <grove/hub.hpp>
#include <grove/io/wait.hpp>
#include <grove/waiter.hpp>

namespace grove {
namespace {

constexpr int kIoEvents = EV_READ | EV_WRITE;

struct FdEntry {
    explicit FdEntry(int fd) noexcept {
        ev_io_init(&io, &FdEntry::ready_cb, fd, 0);
        io.data = this;
    }
    int wanted() const noexcept { return (readers ? EV_READ : 0) | (writers ? EV_WRITE : 0); }
    int fd() const noexcept { return io.fd; }

    static void ready_cb(struct ev_loop* loop, ev_io* io, int revents);

    ev_io io{};
    WaitList waits;
    int readers = 0;
    int writers = 0;
    bool referenced = false;
    bool trusted = false;
    bool drained = false;  // Socket::recv's hint: the last recv came back short
};

/// This thread's fd → entry table (see the invariants above).
struct FdTable {
    struct ev_loop* loop = nullptr;
    std::shared_ptr<Hub::Remote> owner;  // the hub the watchers live on
    std::vector<std::unique_ptr<FdEntry>> fds;

    FdEntry* find(int fd) const noexcept {
        return fd >= 0 && static_cast<std::size_t>(fd) < fds.size() ? fds[static_cast<std::size_t>(fd)].get() : nullptr;
    }
    FdEntry& get(int fd) {
        const auto i = static_cast<std::size_t>(fd);
        if (i >= fds.size()) fds.resize(std::max(i + 1, fds.size() * 2));
        if (!fds[i]) fds[i] = std::make_unique<FdEntry>(fd);
        return *fds[i];
    }
    bool has_waits() const noexcept {
        for (const auto& e : fds)
            if (e && !e->waits.empty()) return true;
        return false;
    }
    /// Active watcher → stopped, keeping the loop's refcount balanced.
    void stop(FdEntry& e) noexcept {
        if (!ev_is_active(&e.io)) return;
        if (!e.referenced) ev_ref(loop);
        ev_io_stop(loop, &e.io);
        e.referenced = false;
    }
    /// Stops every watcher (the hub is alive) and forgets entries nobody waits on.
    void stop_idle() noexcept {
        for (auto& e : fds)
            if (e && e->waits.empty()) {
                stop(*e);
                e.reset();
            }
    }
};

// The table is reached through a plain pointer: thread_local destructors run
// in reverse order of construction, and the hub (destroyed at thread exit
// after us) may unwind greenlets whose waits are still on the table. A table
// that still has waits at that point is deliberately left allocated (its idle
// watchers stopped).
thread_local FdTable* t_table = nullptr;

bool same_hub(const FdTable& t, Hub& hub) { return t.loop == hub.loop() && t.owner == hub.remote(); }

struct FdTableOwner {
    ~FdTableOwner() {
        if (!t_table) return;
        Hub* hub = get_hub_if_exists();
        if (hub && same_hub(*t_table, *hub)) t_table->stop_idle();
        if (!t_table->has_waits()) {
            delete t_table;
            t_table = nullptr;
        }
    }
};
thread_local FdTableOwner t_table_owner;

/// The table for `hub`: one left from an earlier hub of this thread is
/// emptied first (its loop is gone: nothing is stopped, nothing woken).
FdTable& table(Hub& hub) {
    if (!t_table) {
        (void)&t_table_owner;  // odr-use: constructs the owner on this thread
        t_table = new FdTable;
    }
    FdTable& t = *t_table;
    if (t.loop != hub.loop() || !t.owner || t.owner != hub.remote()) {
        t.fds.clear();  // a WaitList unlinks its nodes when destroyed
        t.loop = hub.loop();
        t.owner = hub.remote();
    }
    return t;
}

/// The table if it belongs to this thread's live hub, else nullptr (after
/// dropping a stale one's entries).
FdTable* current_table() noexcept {
    if (!t_table) return nullptr;
    Hub* hub = get_hub_if_exists();
    if (!hub || !same_hub(*t_table, *hub)) {
        t_table->fds.clear();
        t_table->loop = nullptr;
        t_table->owner.reset();
        return nullptr;
    }
    return t_table;
}

/// One wait of one greenlet for one fd. Lives on the waiter's stack, declared
/// after its Waiter.
class FdWait final : public WaitNode {
public:
    FdWait(Waiter& waiter, FdTable& table, FdEntry& entry, int events, bool rearm)
        : WaitNode(waiter), table_(&table), entry_(&entry), events_(events) {
        entry.waits.push_back(*this);
        count(+1);
        arm(rearm);
    }
    ~FdWait() override {
        if (!linked()) return;  // woken, or the entry was dropped with its table
        unlink();
        count(-1);
        settle(*table_, *entry_);
    }

    bool closed() const noexcept { return closed_; }
    int events() const noexcept { return events_; }

    /// Already unlinked from the entry's list: wake, with EBADF if `closed`.
    void finish(bool closed) noexcept {
        count(-1);
        closed_ = closed;
        waiter().wake();
    }

    /// After a waiter left or was woken: an idle watcher keeps its
    /// registration (unreferenced) if trusted, else is stopped.
    static void settle(FdTable& t, FdEntry& e) noexcept {
        if (e.wanted() != 0 || !ev_is_active(&e.io)) return;
        if (!e.trusted) {
            t.stop(e);
        } else if (e.referenced) {
            ev_unref(t.loop);
            e.referenced = false;
        }
    }

private:
    void count(int d) noexcept {
        if (events_ & EV_READ) entry_->readers += d;
        if (events_ & EV_WRITE) entry_->writers += d;
    }

    void arm(bool rearm) noexcept {
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

    FdTable* table_;
    FdEntry* entry_;
    int events_;
    bool closed_ = false;
};

void FdEntry::ready_cb(struct ev_loop* loop, ev_io* io, int revents) {
    auto& e = *static_cast<FdEntry*>(io->data);
    FdTable& t = *t_table;
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
        FdWait::settle(t, e);
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

[[noreturn]] void throw_ebadf(const char* what) {
    throw std::system_error(EBADF, std::system_category(), std::string("grove::") + what);
}

/// Deadline::min(): answer with one poll(2) instead of arming a watcher.
bool poll_once(int fd, int events, const char* what) {
    pollfd p{fd, static_cast<short>((events & EV_READ ? POLLIN : 0) | (events & EV_WRITE ? POLLOUT : 0)), 0};
    int n;
    do n = ::poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) throw std::system_error(errno, std::system_category(), std::string("grove::") + what);
    if (p.revents & POLLNVAL) throw_ebadf(what);
    return n > 0;
}

bool wait_impl(int fd, int events, std::optional<Deadline> deadline, const char* what, bool owned, bool probe) {
    if (deadline == Deadline::min()) return poll_once(fd, events, what);
    // libev asserts (aborting the process) on an fd that is not open: probe
    // one that no Socket owns and no active watcher vouches for. Before the
    // hub exists: creating it may hand the closed number to its epoll fd.
    if (probe) {
        Hub* live = get_hub_if_exists();
        const FdEntry* k = live && t_table && same_hub(*t_table, *live) ? t_table->find(fd) : nullptr;
        if (!(k && (k->trusted || ev_is_active(&k->io))) && ::fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            throw_ebadf(what);
    }
    Hub& hub = get_hub();
    FdTable& t = table(hub);
    FdEntry* known = t.find(fd);
    FdEntry& e = known ? *known : t.get(fd);
    const bool rearm = !e.trusted;
    if (owned) e.trusted = true;
    Waiter waiter(what, detail::fd_wait_object(fd, events));
    FdWait node(waiter, t, e, events, rearm);
    const bool ready = waiter.wait_until(deadline);
    if (node.closed()) throw_ebadf(what);
    return ready;
}

void wait_public(int fd, int events, std::optional<Duration> timeout, const char* what) {
    if (fd < 0) throw std::invalid_argument(fmt::format("grove::{}: negative fd {}", what, fd));
    if (!wait_impl(fd, events, detail::deadline_after(timeout, what), what, false, true))
        throw TimeoutError(0, fmt::format("grove::{}: fd {} timed out", what, fd));
}

}  // namespace

bool detail::wait_fd(int fd, int events, std::optional<Deadline> deadline, const char* what, bool owned) {
    return wait_impl(fd, events, deadline, what, owned, false);
}

bool detail::fd_read_drained(int fd) noexcept {
    const FdEntry* e = t_table ? t_table->find(fd) : nullptr;
    return e && e->drained;
}

void detail::fd_note_read(int fd, bool drained) noexcept {
    if (FdEntry* e = t_table ? t_table->find(fd) : nullptr) e->drained = drained;
}

void detail::fd_release(int fd) noexcept {
    FdTable* t = current_table();
    FdEntry* e = t ? t->find(fd) : nullptr;
    if (!e) return;
    e->trusted = false;
    e->drained = false;
    if (e->waits.empty()) {
        t->stop(*e);
        t->fds[static_cast<std::size_t>(fd)].reset();
    }
}

void wait_read(int fd, std::optional<Duration> timeout) { wait_public(fd, EV_READ, timeout, "wait_read"); }

void wait_write(int fd, std::optional<Duration> timeout) { wait_public(fd, EV_WRITE, timeout, "wait_write"); }

void notify_close(int fd) noexcept {
    FdTable* t = current_table();
    FdEntry* e = t ? t->find(fd) : nullptr;
    if (!e) return;
    t->stop(*e);
    while (WaitNode* n = e->waits.pop_front()) static_cast<FdWait*>(n)->finish(true);
    t->fds[static_cast<std::size_t>(fd)].reset();
}

}  // namespace grove
