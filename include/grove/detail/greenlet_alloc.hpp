// grove — where greenlet objects live.
//
// Implementation detail of spawn()/make(): the greenlet object and its Ref's
// control block are one allocation (std::allocate_shared), taken from a small
// per-thread cache of recently freed blocks instead of malloc. A spawn+join
// loop then reuses the same hot block every time. (The runtime's record of
// the greenlet lives elsewhere: it moves onto the greenlet's stack while the
// greenlet is parked.) Users never name this.
#pragma once

#include <cstddef>
#include <memory>
#include <new>

namespace grove::detail {

/// A block of at least `bytes` (aligned for max_align_t). Throws std::bad_alloc.
void* greenlet_block_allocate(std::size_t bytes);
/// Returns a block from greenlet_block_allocate(bytes); any thread may free it.
void greenlet_block_free(void* block, std::size_t bytes) noexcept;

template <class T>
struct GreenletAllocator {
    using value_type = T;

    GreenletAllocator() noexcept = default;
    template <class U>
    GreenletAllocator(const GreenletAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if constexpr (alignof(T) > alignof(std::max_align_t))
            return std::allocator<T>{}.allocate(n);
        else
            return static_cast<T*>(greenlet_block_allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if constexpr (alignof(T) > alignof(std::max_align_t))
            std::allocator<T>{}.deallocate(p, n);
        else
            greenlet_block_free(p, n * sizeof(T));
    }

    template <class U>
    bool operator==(const GreenletAllocator<U>&) const noexcept {
        return true;
    }
};

}  // namespace grove::detail
