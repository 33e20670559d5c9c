// grove-hooks internal — the next definition of a libc function, for hooks
// that are not in real.hpp's table (the process and stdio hooks).
#pragma once

#include <dlfcn.h>

#include <atomic>

namespace grove::hooks {

/// The definition of `name` after grove-hooks (dlsym(RTLD_NEXT)), looked up
/// once per call site. `F` is the function pointer type; nullptr if absent.
template <class F>
F next_fn(std::atomic<F>& slot, const char* name) noexcept {
    F f = slot.load(std::memory_order_acquire);
    if (!f) {
        f = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
        slot.store(f, std::memory_order_release);
    }
    return f;
}

#define GROVE_NEXT(name)                                      \
    ([]() noexcept {                                          \
        static std::atomic<decltype(&::name)> slot_{nullptr}; \
        return ::grove::hooks::next_fn(slot_, #name);         \
    }())

}  // namespace grove::hooks
