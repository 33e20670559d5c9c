// grove — grove::events: callbacks on what the runtime does, to feed metrics
// (gevent.events without zope).
//
//   auto sub = grove::events::subscribe([](const grove::events::GreenletSpawned& e) {
//       spawned_counter.inc();
//   });                                  // unsubscribed when `sub` is destroyed
//
// Which thread calls a callback is part of each event's contract below.
// Callbacks must not block (no grove waits, no long locks): the spawn and
// death events run inside start() and at a greenlet's death, and the monitor
// events on the monitor thread, which stops watching while they run. A callback
// that throws is reported through the "grove" logger; the others still run.
//
// Cost: with nobody subscribed to GreenletSpawned/GreenletDied, spawn and
// death check one relaxed atomic bool each, nothing more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <sys/types.h>

#include <grove/duration.hpp>

namespace grove {
class GreenletBase;
}

namespace grove::events {

/// A greenlet was started (start(), spawn()). Called on the spawning thread,
/// inside start(), before the greenlet first runs; `parent` is the greenlet
/// that called start() (the main greenlet, or the hub inside a callback).
struct GreenletSpawned {
    /// The greenlet just started.
    GreenletBase& greenlet;
    /// The greenlet that started it.
    GreenletBase& parent;
};

/// A greenlet died (returned, threw, or was killed; also a greenlet killed
/// before it began). Called on its thread when its outcome is set, before its
/// joiners and links run. `greenlet.dead()` is true; exception() is its error.
struct GreenletDied {
    /// The greenlet that died.
    GreenletBase& greenlet;
};

/// The monitor saw a hub that had not switched for longer than the limit
/// (gevent's EventLoopBlocked). Called on the monitor thread, once per
/// incident, after the warning was logged. The greenlet belongs to another
/// thread and may be gone already: it is identified, never handed over.
struct EventLoopBlocked {
    pid_t thread_id;               ///< the blocked hub's thread (gettid)
    std::uint64_t greenlet_ident;  ///< its minimal_ident, 0 if none was assigned yet
    const void* greenlet;          ///< its address, to compare with; never dereference
    Duration blocked_for;          ///< how long the hub had not switched when seen
    std::string stack;             ///< its frames at that moment, outermost first, one per line
};

/// The monitor saw the process's resident set above max_memory_usage.
/// Called on the monitor thread, once each time the usage crosses the limit
/// upwards (again only after it has fallen below).
struct MemoryUsageThresholdExceeded {
    /// The resident set size seen, in bytes.
    std::size_t rss_bytes;
    /// The limit (Settings::max_memory_usage), in bytes.
    std::size_t limit_bytes;
};

/// Keeps a callback subscribed; destroying it (or reset()) unsubscribes.
/// Move-only. After the handle is gone, the callback is never called again
/// by events that start later; one already running on another thread
/// (the monitor) may still finish.
class Subscription {
public:
    Subscription() = default;
    /// Move-only: the moved-to handle keeps the subscription; assigning over a handle
    /// unsubscribes its old callback first.
    /// @{
    Subscription(Subscription&&) noexcept = default;
    Subscription& operator=(Subscription&&) noexcept;
    /// @}
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

    /// Unsubscribes now (as destruction does); a no-op when empty. Never switches.
    void reset() noexcept;
    /// Whether it still holds a subscription.
    explicit operator bool() const noexcept { return static_cast<bool>(token_); }

    struct Token;  // opaque (lib/util/events.cpp)
    /// Made by subscribe().
    explicit Subscription(std::shared_ptr<Token> token) noexcept : token_(std::move(token)) {}

private:
    std::shared_ptr<Token> token_;
};

/// Subscribe to one kind of event. Any thread. The callback's parameter type
/// picks the event; a generic lambda must be wrapped in the std::function.
Subscription subscribe(std::function<void(const GreenletSpawned&)> callback);
Subscription subscribe(std::function<void(const GreenletDied&)> callback);
Subscription subscribe(std::function<void(const EventLoopBlocked&)> callback);
Subscription subscribe(std::function<void(const MemoryUsageThresholdExceeded&)> callback);

}  // namespace grove::events
