// grove-sync internal — the std Lockable / TimedLockable names (lock, unlock,
// try_lock, try_lock_for, try_lock_until) in terms of a primitive's own
// acquire(block, timeout) and release(), so std::lock_guard, std::unique_lock
// and std::scoped_lock work with it.
#pragma once

#include <chrono>

#include <grove/duration.hpp>
#include <grove/sync/detail/until.hpp>

namespace grove::detail {

template <class Derived>
class StdLockable {
public:
    void lock() { self().acquire(); }
    void unlock() { self().release(); }
    bool try_lock() { return self().acquire(false); }
    template <class Rep, class Period>
    bool try_lock_for(const std::chrono::duration<Rep, Period>& d) {
        return self().acquire(true, std::chrono::duration_cast<Duration>(d));
    }
    template <class C, class D>
    bool try_lock_until(const std::chrono::time_point<C, D>& tp) {
        return self().acquire(true, until(tp));
    }

private:
    Derived& self() { return static_cast<Derived&>(*this); }
};

}  // namespace grove::detail
