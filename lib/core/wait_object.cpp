// grove internal — naming what a parked greenlet waits on.
//
// A Waiter carries `what` (a static string) and `object` (the address of the
// thing waited on). An fd has no address, so the fd waits store the fd and
// its direction in `object` as a tagged value: bit 63 set (never a user-space
// address on Linux), the fd shifted left by 2, kFdRead/kFdWrite in the low bits.
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include <grove/waiter.hpp>

#include "wait_object.hpp"
#include "loop.hpp"

namespace grove::detail {
namespace {
constexpr std::uintptr_t kFdTag = std::uintptr_t{1} << 63;
}  // namespace

const void* fd_wait_object(int fd, int events) noexcept {
    const auto bits = kFdTag | (static_cast<std::uintptr_t>(static_cast<unsigned>(fd)) << 2) |
                      static_cast<std::uintptr_t>(events & (kFdRead | kFdWrite));
    return reinterpret_cast<const void*>(bits);
}

std::string describe_wait(const Waiter& waiter) {
    const auto bits = reinterpret_cast<std::uintptr_t>(waiter.object());
    if (bits & kFdTag) {
        const int fd = static_cast<int>(static_cast<unsigned>((bits & ~kFdTag) >> 2));
        const char* direction = (bits & kFdRead) && (bits & kFdWrite) ? "read+write"
                                : (bits & kFdWrite)                   ? "write"
                                                                      : "read";
        return fmt::format("{} fd {} ({})", waiter.what(), fd, direction);
    }
    if (!waiter.object()) return waiter.what();
    return fmt::format("{} {}", waiter.what(), waiter.object());
}

}  // namespace grove::detail
