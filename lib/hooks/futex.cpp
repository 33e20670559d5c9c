// grove-hooks — syscall(SYS_futex, ...) waits and wakes, sched_yield.
//
// libstdc++ waits through syscall(SYS_futex): std::future::get/wait,
// std::shared_future, and (header code compiled into the program)
// std::atomic<T>::wait/notify, std::counting_semaphore, std::latch and
// std::barrier. `syscall` is interposed for FUTEX_WAIT, FUTEX_WAIT_BITSET,
// FUTEX_WAKE and FUTEX_WAKE_BITSET only (private or shared); every other
// system call number goes to the real syscall() untouched. glibc's own
// futexes (inside its mutexes and condvars) never pass through here.
//
// A greenlet's FUTEX_WAIT parks on the futex address (registered first, then
// the word compared, like the kernel does, so no wake-up is lost); every
// FUTEX_WAKE, from any thread, wakes the kernel's waiters first and then up
// to the rest of its count among parked greenlets. A wake-up from another
// thread reaches the greenlet through its hub's async watcher. Interrupts
// end the wait as a spurious wake-up (0) and stay pending (callers loop).
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdarg>

#include <grove/greenlet.hpp>

#include "green.hpp"

using namespace grove::hooks::green;

namespace {

bool futex_wait(int* addr, int op, int val, const timespec* ts, unsigned bitset, long& out) {
    const int cmd = op & FUTEX_CMD_MASK;
    if (bitset == 0 || (ts && !valid_timespec(ts))) return false;  // the real EINVAL
    std::optional<grove::Deadline> deadline;
    if (ts) {
        if (cmd == FUTEX_WAIT) {  // relative, on the monotonic clock
            deadline = grove::now() + std::chrono::duration_cast<grove::Clock::duration>(
                                          std::chrono::seconds(ts->tv_sec) + std::chrono::nanoseconds(ts->tv_nsec));
        } else if (!(deadline = deadline_for((op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC, *ts))) {
            return false;
        }
    }
    Held held;
    held.hold_pending();
    const Park p = park(
        addr, [&] { return __atomic_load_n(addr, __ATOMIC_SEQ_CST) != val; }, deadline, true, held, bitset);
    switch (p) {
        case Park::Ready:
            errno = EAGAIN;
            out = -1;
            break;
        case Park::Woken:
            out = 0;
            break;
        case Park::TimedOut:
            errno = ETIMEDOUT;
            out = -1;
            break;
    }
    return true;
}

}  // namespace

extern "C" {

long syscall(long number, ...) {
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (long& x : a) x = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_futex) {
        int* addr = reinterpret_cast<int*>(a[0]);
        const int op = static_cast<int>(a[1]);
        const int cmd = op & FUTEX_CMD_MASK;
        if (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) {
            long out = 0;
            if (cooperate(__builtin_return_address(0)) &&
                futex_wait(addr, op, static_cast<int>(a[2]), reinterpret_cast<const timespec*>(a[3]),
                           cmd == FUTEX_WAIT ? ~0u : static_cast<unsigned>(a[5]), out))
                return out;
        } else if (cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET) {
            const long woke = forward_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
            if (woke < 0 || !anyone_parked_ordered() || inside()) return woke;
            const long n = a[2] > INT_MAX ? INT_MAX : a[2];
            return woke +
                   unpark(addr, static_cast<int>(n - woke), cmd == FUTEX_WAKE ? ~0u : static_cast<unsigned>(a[5]));
        }
    }
    return forward_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int sched_yield() {
    if (!cooperate(__builtin_return_address(0))) return real().sched_yield();
    Held held;
    held.hold_pending();
    try {
        grove::sleep();  // lets every other ready greenlet run once
    } catch (...) {
        held.take();
    }
    return 0;
}

}  // extern "C"
