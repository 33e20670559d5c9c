// grove internal — what StreamServer and DatagramServer share: one greenlet
// that takes work in (the acceptor, the receiver) and one greenlet per
// connection or datagram.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <grove/duration.hpp>
#include <grove/exceptions.hpp>
#include <grove/greenlet.hpp>

namespace grove::detail {

using Handlers = std::unordered_map<std::uint64_t, Ref<GreenletBase>>;

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
