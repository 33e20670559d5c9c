// grove internal — wait_read / wait_write / notify_close on libev io watchers.
//
// Each wait owns one ev_io watcher on the waiting greenlet's stack (FdWait),
// active only for the duration of that wait. A per-thread table maps
// fd → the WaitList of its current waits, so notify_close(fd) can find them.
// Invariants:
//  - an FdWait is on table[fd] iff its watcher is active;
//  - the table holds no empty lists (an entry is erased with its last wait);
//  - every watcher is (re)armed with ev_io_init, which sets libev's "fd
//    changed" flag, so a reused fd number is re-added to epoll rather than
//    trusted to stale kernel state (libev: "the special problem of
//    disappearing file descriptors").
// notify_close() stops the watchers *before* the caller closes the fd, so no
// callback can ever reach a wait for whoever reuses the number.
#include "fd_wait.hpp"
#include "../util/observe.hpp"

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>

#include <ev.h>
#include <fmt/format.h>

#include <grove/exceptions.hpp>
#include <grove/hub.hpp>
#include <grove/io/wait.hpp>
#include <grove/waiter.hpp>

namespace grove {
namespace {

/// This thread's fd → waits table (see the invariants above).
struct FdTable {
    std::unordered_map<int, WaitList> waits;
};

// The table is reached through a plain pointer: thread_local destructors run
// in reverse order of construction, and the hub (destroyed at thread exit
// after us) may unwind greenlets whose waits are still on the table. A table
// that is not empty at that point is deliberately left allocated.
thread_local FdTable* t_table = nullptr;
struct FdTableOwner {
    ~FdTableOwner() {
        if (t_table && t_table->waits.empty()) {
            delete t_table;
            t_table = nullptr;
        }
    }
};
thread_local FdTableOwner t_table_owner;

FdTable& table() {
    if (!t_table) {
        (void)&t_table_owner;  // odr-use: constructs the owner on this thread
        t_table = new FdTable;
    }
    return *t_table;
}

/// One wait of one greenlet for one fd. Lives on the waiter's stack, declared
/// after its Waiter.
class FdWait final : public WaitNode {
public:
    FdWait(Waiter& waiter, int fd, int events) : WaitNode(waiter), loop_(get_hub().loop()) {
        ev_io_init(&io_, &FdWait::ready_cb, fd, events);
        io_.data = this;
        table().waits[fd].push_back(*this);
        ev_io_start(loop_, &io_);
    }
    ~FdWait() override { stop(); }

    bool closed() const noexcept { return closed_; }

    /// notify_close() already unlinked the node: stop and wake with EBADF.
    void closed_under_us() noexcept {
        ev_io_stop(loop_, &io_);
        closed_ = true;
        waiter().wake();
    }

private:
    void stop() noexcept {
        ev_io_stop(loop_, &io_);
        if (WaitList* list = this->list()) {
            unlink();
            if (list->empty()) t_table->waits.erase(io_.fd);
        }
    }

    static void ready_cb(struct ev_loop*, ev_io* io, int revents) {
        auto* self = static_cast<FdWait*>(io->data);
        self->stop();
        if (revents & EV_ERROR) self->closed_ = true;  // libev found the fd invalid
        self->waiter().wake();
    }

    struct ev_loop* loop_;
    ev_io io_{};
    bool closed_ = false;
};

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

void wait_public(int fd, int events, std::optional<Duration> timeout, const char* what) {
    if (fd < 0) throw std::invalid_argument(fmt::format("grove::{}: negative fd {}", what, fd));
    // libev asserts (aborting the process) on an fd that is not open.
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) throw_ebadf(what);
    if (!detail::wait_fd(fd, events, detail::deadline_after(timeout, what), what))
        throw TimeoutError(0, fmt::format("grove::{}: fd {} timed out", what, fd));
}

}  // namespace

bool detail::wait_fd(int fd, int events, std::optional<Deadline> deadline, const char* what) {
    if (deadline == Deadline::min()) return poll_once(fd, events, what);
    Waiter waiter(what, fd_wait_object(fd, events));
    FdWait node(waiter, fd, events);
    const bool ready = waiter.wait_until(deadline);
    if (node.closed()) throw_ebadf(what);
    return ready;
}

void wait_read(int fd, std::optional<Duration> timeout) { wait_public(fd, EV_READ, timeout, "wait_read"); }

void wait_write(int fd, std::optional<Duration> timeout) { wait_public(fd, EV_WRITE, timeout, "wait_write"); }

void notify_close(int fd) noexcept {
    if (!t_table) return;
    auto it = t_table->waits.find(fd);
    if (it == t_table->waits.end()) return;
    WaitList& list = it->second;
    while (WaitNode* node = list.pop_front()) static_cast<FdWait*>(node)->closed_under_us();
    t_table->waits.erase(it);
}

}  // namespace grove
