// grove-hooks — what the library does at load time for tools/grove-run.
//
// With GROVE_PATCH_ALL=1 in the environment at load, the thread that loads
// the library (the main thread, before main) is marked as having a hub on
// demand: its hooked calls cooperate, and the hub itself is made by the first
// call that has to wait (state.cpp, auto_hub()). A program that never waits
// cooperatively never makes one, and so runs as it does plainly.
//
// GROVE_CHILDREN=0 (what grove-run sets unless --children): the library takes
// itself and the core out of LD_PRELOAD, and the GROVE_* switches out of the
// environment, so programs this one execs run plainly. The strings are
// edited in place (shortened or unset), never reallocated: main's envp and
// environ stay the same array.
#include <pthread.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <grove/hub.hpp>
#include <grove/monkey.hpp>

#include "preload_env.hpp"
#include "signals.hpp"
#include "state.hpp"
#include "threads.hpp"

namespace grove::hooks {
namespace {

void reinit_in_child() {
    if (patched()) grove::reinit();  // libev's ev_loop_fork: the child's loop gets its own epoll
}

[[gnu::constructor(103)]] void at_load() {
    pthread_atfork(nullptr, nullptr, &reinit_in_child);
    const char* children = std::getenv("GROVE_CHILDREN");
    if (patched()) mark_auto_hub_thread();
    (void)threads::enabled();  // GROVE_PATCH_THREADS, read before it leaves the environment
    if (children && std::strcmp(children, "0") == 0) {
        strip_preload();
        unsetenv("GROVE_PATCH_ALL");
        unsetenv("GROVE_PATCH_THREADS");
        unsetenv("GROVE_CHILDREN");
    }
}

}  // namespace
}  // namespace grove::hooks

/// Called by libgrove-run.so (shim.cpp) on the main thread once it has
/// loaded grove: the hooks go on, the main thread gets a hub on demand, and
/// handlers installed so far get the EINTR trampoline.
extern "C" [[gnu::visibility("default")]] void grove_run_activate() {
    grove::monkey::patch_all();
    grove::hooks::mark_auto_hub_thread();
    grove::hooks::wrap_installed_handlers();
}
