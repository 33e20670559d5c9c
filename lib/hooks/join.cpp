// grove-hooks — pthread_join and pthread_timedjoin_np (std::thread::join).
//
// The kernel ends a thread with a CLONE_CHILD_CLEARTID futex wake that no
// hook sees, so a greenlet's join runs the real join on a grove ThreadPool
// worker and parks until the worker's completion reaches its hub. The wait
// cannot be abandoned (the worker writes the result into the caller's
// frame, and a std::thread left joinable would terminate the process): an
// interrupt arriving meanwhile is held and stays pending for the greenlet's
// next grove wait (a kill: also its next blocking hooked I/O call).
#include <execinfo.h>
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>

#include <grove/io/threadpool.hpp>

#include "green.hpp"
#include "threads.hpp"
#include "../core/plain_calls.hpp"

using namespace grove::hooks::green;

namespace {

/// Joins made by grove's own code through std::thread::join (the thread pool
/// joining its workers, also from its destructor at thread exit) are plain:
/// the return address alone names libstdc++, so look at std::thread::join's
/// caller (frame 2; frame 0 is this hook).
bool joined_by_grove() noexcept {
    void* frames[3];
    return backtrace(frames, 3) == 3 && from_grove(frames[2]);
}

template <class Job>
int join_on_pool(Job&& job) {
    Held held;
    held.hold_pending();
    int rc = 0;
    bool done = false;
    {
        InsideHook guard;  // the pool's own locks and allocations
        try {
            grove::get_threadpool().submit([&] { rc = job(); },
                                           [&] {
                                               done = true;
                                               unpark(&done, 1);
                                           });
        } catch (const std::logic_error&) {
            // The pool is being destroyed (exit: its destructor joins its own
            // workers through this hook): join in place.
            return job();
        }
    }
    while (!done)
        park(
            &done, [&] { return done; }, std::nullopt, true, held);
    return rc;
}

}  // namespace

extern "C" {

int pthread_join(pthread_t t, void** ret) {
    if (int rc; grove::hooks::threads::join_green(t, ret, rc)) return rc;  // green threads: threads.cpp
    if (pthread_equal(t, pthread_self()) || grove::detail::t_plain_calls || !cooperate(__builtin_return_address(0)) ||
        joined_by_grove())
        return real().join(t, ret);
    return join_on_pool([t, ret] { return real().join(t, ret); });
}

int pthread_timedjoin_np(pthread_t t, void** ret, const timespec* abstime) {
    if (int rc; grove::hooks::threads::join_green(t, ret, rc)) return rc;  // no timeout for green threads
    if (pthread_equal(t, pthread_self()) || grove::detail::t_plain_calls || !cooperate(__builtin_return_address(0)))
        return real().timedjoin(t, ret, abstime);
    return join_on_pool([t, ret, abstime] { return real().timedjoin(t, ret, abstime); });
}

}  // extern "C"
