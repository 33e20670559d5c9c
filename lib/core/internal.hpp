// grove internal — included by lib/ sources and grove's own tests only.
#pragma once

#if !defined(GROVE_BUILDING_LIBRARY) && !defined(GROVE_INTERNAL_ACCESS)
#error "lib/ headers are grove's internals: include <grove/...> public headers instead"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define GROVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GROVE_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define GROVE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GROVE_TSAN 1
#endif
#endif

// The per-thread greenlet block cache (lib/core/greenlet_alloc.cpp) is bypassed
// where a use after free must still be caught: sanitizer and valgrind builds.
#if GROVE_ASAN || GROVE_TSAN || defined(GROVE_VALGRIND)
#define GROVE_BLOCK_CACHE 0
#else
#define GROVE_BLOCK_CACHE 1
#endif
