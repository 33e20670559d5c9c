// grove internal — what StreamServer and DatagramServer share: one greenlet
// that takes work in (the acceptor, the receiver) and one greenlet per
// connection or datagram.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <grove/duration.hpp>
#include <grove/exceptions.hpp>
#include <grove/greenlet.hpp>
#include <grove/io/address.hpp>
#include <grove/spawner.hpp>

namespace grove::detail {

using Handlers = std::unordered_map<std::uint64_t, Ref<GreenletBase>>;

/// Spawns a handler greenlet running `body` (through the server's Spawner,
/// if it has one) and keeps it in `s->handlers` until it dies: stop() waits
/// for, then kills, those still there. `body` is spawned as it is, so error
/// reports name the server's own lambda.
template <class State, class Body>
void spawn_tracked_handler(const std::shared_ptr<State>& s, Body body) {
    Ref<GreenletBase> g;
    if (s->spawner)
        g = s->spawner->spawn_task(std::move(body));
    else
        g = grove::spawn(std::move(body));
    const std::uint64_t id = s->next_id++;
    s->handlers.emplace(id, g);
    g->link([weak = std::weak_ptr<State>(s), id](GreenletBase&) {
        if (auto st = weak.lock()) st->handlers.erase(id);
    });
}

/// The intake's pause when the process ran out of fds or memory: says so on
/// stderr, then sleeps 10 ms, doubling up to 1 s while it lasts.
class IntakeBackoff {
public:
    /// `server` and `call` name what failed, e.g. "StreamServer" and "accept".
    void wait(const char* server, const Address& address, const char* call, int err) {
        std::fprintf(stderr, "grove: %s on %s: %s failed: %s; retrying in %.2f s\n", server, address.str().c_str(),
                     call, std::strerror(err), next_.count());
        grove::sleep(next_);
        next_ = std::min(next_ * 2, Duration{1});
    }
    /// After a success: the next pause is short again.
    void reset() noexcept { next_ = Duration{0.01}; }

private:
    Duration next_{0.01};
};

/// serve_forever's wait: joins the intake greenlet; a kill or Timeout of
/// the caller stops the server (`stop()`) before it propagates, and the
/// intake's own error is rethrown. `intake` is a copy: a stop() during the
/// wait drops the server's own reference.
template <class Stop>
void serve_until_done(Ref<GreenletBase> intake, Stop&& stop) {
    if (!intake) return;  // already stopped
    try {
        intake->join();
    } catch (const GreenletExit&) {
        stop();
        throw;
    } catch (const TimeoutError&) {
        stop();
        throw;
    }
    if (auto e = intake->exception()) std::rethrow_exception(e);
}

/// stop()'s work once the intake was taken off the state: kills `intake`
/// (unless it is the caller), closes the socket (`close()`), then gives the
/// live handlers `timeout` to finish and kills the rest (up to 1 s more).
template <class Close>
void stop_intake_and_handlers(Ref<GreenletBase> intake, Close&& close, const Handlers& handlers,
                              std::optional<Duration> timeout) {
    if (intake && intake.get() != getcurrent()) intake->kill();
    close();
    std::vector<Ref<GreenletBase>> live;
    for (auto& [id, g] : handlers)
        if (g.get() != getcurrent() && !g->dead()) live.push_back(g);
    if (live.empty()) return;
    joinall(live, timeout);
    killall(live, {}, true, Duration{1});
}

}  // namespace grove::detail
