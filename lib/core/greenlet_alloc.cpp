// grove internal — the per-thread cache of greenlet blocks
// (grove/detail/greenlet_alloc.hpp).
//
// Freed blocks wait on a per-thread, per-size-class LIFO list, capped so that
// a burst of greenlets does not pin its peak memory. A block freed on another
// thread joins that thread's cache: they are plain operator-new blocks.
// Sanitizer and valgrind builds skip the cache, so a use after free of a
// greenlet is caught there.
#include "internal.hpp"

#include <cstdint>
#include <new>

#include <grove/detail/greenlet_alloc.hpp>

namespace grove::detail {

#if GROVE_BLOCK_CACHE
namespace {

// Size classes follow glibc's chunk sizes (16-byte steps, 8 bytes of header),
// and each block is requested at its class's full usable size: a cached
// block costs exactly what malloc would have spent on the request.
constexpr std::size_t kStep = 16;
constexpr std::size_t kHeader = sizeof(std::size_t);
constexpr std::size_t kClasses = 64;  // chunks up to 1 KiB; larger blocks go to operator new
constexpr std::uint32_t kCap = 1024;  // blocks kept per class

struct FreeBlock {
    FreeBlock* next;
};

struct BlockCache {
    FreeBlock* head[kClasses];
    std::uint32_t count[kClasses];
    bool registered;  // register_owner() ran: the cache is emptied at thread exit
    bool closed;      // the thread is exiting: free straight to operator delete
};

// constinit: a plain %fs-relative load, no TLS init call on the spawn path.
[[gnu::tls_model("initial-exec")]] constinit thread_local BlockCache t_cache{};

// Gives the cached blocks back when the thread exits. Blocks freed after this
// (by later thread_local destructors) bypass the cache.
struct BlockCacheOwner {
    ~BlockCacheOwner() {
        t_cache.closed = true;
        for (std::size_t c = 0; c < kClasses; ++c) {
            while (FreeBlock* b = t_cache.head[c]) {
                t_cache.head[c] = b->next;
                ::operator delete(b);
            }
            t_cache.count[c] = 0;
        }
    }
};

[[gnu::noinline]] void register_owner() noexcept {
    // First use of a thread_local with a destructor: constructs it and queues
    // the destructor for this thread's exit.
    thread_local BlockCacheOwner owner;
    (void)&owner;
    t_cache.registered = true;
}

inline std::size_t chunk_size(std::size_t bytes) noexcept {
    const std::size_t chunk = (bytes + kHeader + kStep - 1) & ~(kStep - 1);
    return chunk < 2 * kStep ? 2 * kStep : chunk;
}
inline std::size_t size_class(std::size_t bytes) noexcept { return chunk_size(bytes) / kStep - 2; }

}  // namespace

void* greenlet_block_allocate(std::size_t bytes) {
    const std::size_t c = size_class(bytes);
    if (c < kClasses) {
        if (FreeBlock* b = t_cache.head[c]) {
            t_cache.head[c] = b->next;
            --t_cache.count[c];
            return b;
        }
        return ::operator new(chunk_size(bytes) - kHeader);
    }
    return ::operator new(bytes);
}

void greenlet_block_free(void* block, std::size_t bytes) noexcept {
    const std::size_t c = size_class(bytes);
    if (c < kClasses && !t_cache.closed && t_cache.count[c] < kCap) {
        if (!t_cache.registered) [[unlikely]]
            register_owner();
        auto* b = static_cast<FreeBlock*>(block);
        b->next = t_cache.head[c];
        t_cache.head[c] = b;
        ++t_cache.count[c];
        return;
    }
    ::operator delete(block);
}

#else

void* greenlet_block_allocate(std::size_t bytes) { return ::operator new(bytes); }
void greenlet_block_free(void* block, std::size_t) noexcept { ::operator delete(block); }

#endif

}  // namespace grove::detail
