// grove internal — the process-wide list of hubs, for run info (other
// threads' hubs) and the monitor (every hub's switch epoch).
#pragma once

#include "../core/internal.hpp"

#include <memory>
#include <mutex>
#include <vector>

#include <pthread.h>
#include <sys/types.h>

#include <grove/hub.hpp>

namespace grove::detail {

class HubImpl;

struct HubEntry {
    HubImpl* hub;                         // valid while on the list (removed first thing in ~HubImpl)
    pid_t thread_id;                      // gettid() of the hub's thread
    pthread_t thread;                     // for pthread_kill (the monitor's stack capture)
    std::shared_ptr<Hub::Remote> remote;  // to ask the hub for its run info
};

/// Locks the list; hold it while using an entry's `hub` pointer from another
/// thread (a hub being destroyed waits in unregister_hub).
std::unique_lock<std::mutex> lock_hubs();
/// The list; only with lock_hubs() held.
std::vector<HubEntry>& hubs_locked();

}  // namespace grove::detail
