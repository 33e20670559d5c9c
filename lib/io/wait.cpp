// grove internal — wait_read / wait_write / notify_close: the fd waits, as
// clients of the loop's per-fd watcher table (lib/core/loop.cpp holds the
// table, its watchers and their invariants).
#include "fd_wait.hpp"
#include "../core/runtime.hpp"
#include "../core/wait_object.hpp"

#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include <grove/exceptions.hpp>
#include <grove/io/wait.hpp>
#include <grove/waiter.hpp>

namespace grove {
namespace {

using detail::HubImpl;
using detail::kFdRead;
using detail::kFdWrite;

[[noreturn]] void throw_ebadf(const char* what) {
    throw std::system_error(EBADF, std::system_category(), std::string("grove::") + what);
}

/// Deadline::min(): answer with one poll(2) instead of arming a watcher.
bool poll_once(int fd, int events, const char* what) {
    pollfd p{fd, static_cast<short>((events & kFdRead ? POLLIN : 0) | (events & kFdWrite ? POLLOUT : 0)), 0};
    int n;
    do n = ::poll(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) throw std::system_error(errno, std::system_category(), std::string("grove::") + what);
    if (p.revents & POLLNVAL) throw_ebadf(what);
    return n > 0;
}

/// How a wait treats its fd.
struct FdWaitOptions {
    /// A Socket owns the fd and closes it only through notify_close, so its
    /// watcher may stay registered between waits.
    bool owned = false;
    /// A caller's fd, maybe closed: checked before libev sees it.
    bool probe = false;
};

bool wait_impl(int fd, int events, std::optional<Deadline> deadline, const char* what, FdWaitOptions options) {
    if (deadline == Deadline::min()) return poll_once(fd, events, what);
    // libev asserts (aborting the process) on an fd that is not open: probe
    // one that no Socket owns and no active watcher vouches for. Before the
    // hub exists: creating it may hand the closed number to its epoll fd.
    if (options.probe) {
        HubImpl* live = HubImpl::current();
        if (!(live && live->event_loop().fd_vouched(fd)) && ::fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            throw_ebadf(what);
    }
    HubImpl& hub = HubImpl::get();
    // On the heap for a compact greenlet, so an idle connection is copied out.
    WaitSite<detail::FdWait> site(what, detail::fd_wait_object(fd, events), hub.event_loop(), fd, events,
                                  options.owned);
    const bool ready = site.waiter().wait_until(deadline);
    if (site.node().closed()) throw_ebadf(what);
    return ready;
}

void wait_public(int fd, int events, std::optional<Duration> timeout, const char* what) {
    if (fd < 0) throw std::invalid_argument(fmt::format("grove::{}: negative fd {}", what, fd));
    if (!wait_impl(fd, events, detail::deadline_after(timeout, what), what, {.owned = false, .probe = true}))
        throw TimeoutError(0, fmt::format("grove::{}: fd {} timed out", what, fd));
}

}  // namespace

bool detail::wait_fd(int fd, int events, std::optional<Deadline> deadline, const char* what, bool owned) {
    return wait_impl(fd, events, deadline, what, {.owned = owned, .probe = false});
}

bool detail::fd_read_drained(int fd) noexcept {
    HubImpl* hub = HubImpl::current();
    return hub && hub->event_loop().fd_read_drained(fd);
}

void detail::fd_note_read(int fd, bool drained) noexcept {
    if (HubImpl* hub = HubImpl::current()) hub->event_loop().fd_note_read(fd, drained);
}

void detail::fd_release(int fd) noexcept {
    if (HubImpl* hub = HubImpl::current()) hub->event_loop().fd_release(fd);
}

void wait_read(int fd, std::optional<Duration> timeout) { wait_public(fd, kFdRead, timeout, "wait_read"); }

void wait_write(int fd, std::optional<Duration> timeout) { wait_public(fd, kFdWrite, timeout, "wait_write"); }

void notify_close(int fd) noexcept {
    if (HubImpl* hub = HubImpl::current()) hub->event_loop().fd_close(fd);
}

}  // namespace grove
