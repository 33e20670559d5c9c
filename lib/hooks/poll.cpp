// grove-hooks — poll, ppoll, select.
//
// The answer always comes from the real call with a zero timeout, so revents,
// the count and the fd_sets are exactly the kernel's. Only the waiting between
// two such polls is grove's: one libev io watcher per fd on the hub's loop and
// one Waiter, with the caller's timeout as the Waiter's deadline.
#include "poll.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/select.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include <grove/hub.hpp>
#include <grove/waiter.hpp>

#include "../core/runtime.hpp"
#include "real.hpp"
#include "signals.hpp"
#include "state.hpp"

namespace grove::hooks {
namespace {

struct Watch {
    int fd;
    int events;  // detail::kFdRead | detail::kFdWrite
};

/// Parks until one watched fd is ready, `deadline` passes, or a close wakes
/// us. Returns 0, or interrupted()'s errno. May switch.
int park(const std::vector<Watch>& watch, std::optional<Deadline> deadline) {
    if (const int err = ensure_hub()) return err;
    InterruptibleWait signals;  // poll and select are never restarted (signal(7))
    Waiter waiter("poll");
    detail::PollWatch watches(detail::HubImpl::current()->event_loop(), waiter, watch.size());
    for (const Watch& w : watch) watches.add(w.fd, w.events);
    try {
        waiter.wait_until(deadline);
        return 0;
    } catch (const SignalInterrupt&) {
        return EINTR;
    } catch (...) {
        return interrupted();
    }
}

/// The loop of every hooked multi-fd wait: `try_now()` is the real call with
/// a zero timeout; nonzero results (ready fds or -1) are final.
template <class TryNow>
int wait_loop(const std::vector<Watch>& watch, std::optional<Deadline> deadline, TryNow&& try_now) {
    for (;;) {
        const int r = try_now();
        if (r != 0) return r;
        if (deadline && grove::now() >= *deadline) return 0;
        if (kill_pending()) return fail(ECANCELED);
        if (const int err = park(watch, deadline)) return fail(err);
    }
}

std::vector<Watch> watches(const pollfd* fds, nfds_t n) {
    std::vector<Watch> out;
    for (nfds_t i = 0; i < n; ++i) {
        if (fds[i].fd < 0) continue;
        int ev = 0;
        if (fds[i].events & (POLLIN | POLLPRI | POLLRDHUP)) ev |= detail::kFdRead;
        if (fds[i].events & POLLOUT) ev |= detail::kFdWrite;
        out.push_back({fds[i].fd, ev ? ev : detail::kFdRead});  // errors and hang-ups show as readable
    }
    return out;
}

std::optional<Deadline> after_ms(int ms) {
    if (ms < 0) return std::nullopt;
    return grove::now() + std::chrono::milliseconds(ms);
}

std::optional<Deadline> after(const timespec* ts) {
    if (!ts) return std::nullopt;
    return grove::now() + std::chrono::seconds(ts->tv_sec) + std::chrono::nanoseconds(ts->tv_nsec);
}

bool cooperative_poll(const pollfd* fds, nfds_t n) {
    // A pure timer (n == 0) cooperates too: poll(NULL, 0, ms) is a common sleep.
    return cooperative() && n <= 65536 && (n == 0 || fds);
}

}  // namespace

void wake_pollers(int fd) noexcept {
    if (detail::HubImpl* hub = detail::HubImpl::current())
        hub->event_loop().feed_fd(fd, detail::kFdRead | detail::kFdWrite);
}

}  // namespace grove::hooks

using namespace grove::hooks;

extern "C" {

int poll(pollfd* fds, nfds_t n, int timeout_ms) {
    if (timeout_ms == 0 || !cooperative_poll(fds, n)) return real::poll(fds, n, timeout_ms);
    return wait_loop(watches(fds, n), after_ms(timeout_ms), [&] { return real::poll(fds, n, 0); });
}

int ppoll(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* mask) {
    const bool zero = timeout && timeout->tv_sec == 0 && timeout->tv_nsec == 0;
    if (zero || !cooperative_poll(fds, n) || (timeout && (timeout->tv_sec < 0 || timeout->tv_nsec < 0)))
        return real::ppoll(fds, n, timeout, mask);
    const timespec now{0, 0};
    return wait_loop(watches(fds, n), after(timeout), [&] { return real::ppoll(fds, n, &now, mask); });
}

int select(int nfds, fd_set* r, fd_set* w, fd_set* e, timeval* timeout) {
    const bool zero = timeout && timeout->tv_sec == 0 && timeout->tv_usec == 0;
    if (zero || !cooperative() || nfds < 0 || nfds > FD_SETSIZE || (timeout && timeout->tv_sec < 0))
        return real::select(nfds, r, w, e, timeout);
    const fd_set none{};
    const fd_set in_r = r ? *r : none, in_w = w ? *w : none, in_e = e ? *e : none;
    std::vector<Watch> watch;
    for (int fd = 0; fd < nfds; ++fd) {
        const int ev = ((FD_ISSET(fd, &in_r) || FD_ISSET(fd, &in_e)) ? grove::detail::kFdRead : 0) |
                       (FD_ISSET(fd, &in_w) ? grove::detail::kFdWrite : 0);
        if (ev) watch.push_back({fd, ev});
    }
    std::optional<grove::Deadline> deadline;
    if (timeout)
        deadline = grove::now() + std::chrono::seconds(timeout->tv_sec) + std::chrono::microseconds(timeout->tv_usec);
    const int result = wait_loop(watch, deadline, [&] {
        if (r) *r = in_r;
        if (w) *w = in_w;
        if (e) *e = in_e;
        timeval zero_tv{0, 0};
        return real::select(nfds, r, w, e, &zero_tv);
    });
    if (timeout) {  // Linux reports the time left
        const auto left = std::max(grove::Clock::duration::zero(), *deadline - grove::now());
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(left).count();
        timeout->tv_sec = static_cast<time_t>(us / 1000000);
        timeout->tv_usec = static_cast<suseconds_t>(us % 1000000);
    }
    return result;
}

}  // extern "C"
