// grove — Spawner: something that spawns greenlets under a policy (a Pool's
// size bound, a Group's membership). Core code that spawns on the user's behalf
// (StreamServer) takes one, so grove-sync's Pool and Group plug in without the
// core depending on grove-sync.
#pragma once

#include <functional>

#include <grove/greenlet.hpp>

namespace grove {

/// Something that spawns greenlets under a policy: a Pool's size bound, a Group's
/// membership. StreamServer and the other servers take one, so grove-sync's Pool and
/// Group plug into the core without the core depending on grove-sync.
class Spawner {
public:
    virtual ~Spawner() = default;
    /// Spawns `fn` in a new greenlet; may block while the policy says so (a
    /// full Pool). Returns the started greenlet.
    virtual Ref<Greenlet<void>> spawn_task(std::function<void()> fn) = 0;
};

}  // namespace grove
