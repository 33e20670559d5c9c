// grove tests — whether a page is in memory right now, by mincore(): the
// kernel's own answer, not grove's bookkeeping (compact stacks, the page
// hand-over).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace grove::test {

/// Whether the page holding `address` is resident.
inline bool resident(std::uintptr_t address) {
    const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    unsigned char in_core = 0;
    if (mincore(reinterpret_cast<void*>(address & ~(page - 1)), page, &in_core) != 0)
        throw std::runtime_error("mincore failed");
    return (in_core & 1) != 0;
}

}  // namespace grove::test
