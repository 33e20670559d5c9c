// grove-hooks internal — green threads (threads.cpp): what the other hooks
// need to know of them.
#pragma once

#include <pthread.h>

namespace grove::hooks::threads {

/// GROVE_PATCH_THREADS=1 (grove-run --green-threads), read on first use.
bool enabled() noexcept;

/// pthread_join of a green thread (its pthread_t has the low bit set): joins
/// it cooperatively, stores its result, sets `rc` and returns true; false
/// for a real thread, which the caller joins as before.
bool join_green(pthread_t t, void** ret, int& rc);

}  // namespace grove::hooks::threads
