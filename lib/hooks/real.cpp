// grove-hooks internal — resolving the real libc functions once.
#include "real.hpp"

#include <dlfcn.h>

#include <atomic>

#include <grove/monkey.hpp>

namespace grove::hooks {

namespace {

RealTable g_table;
// 0: not resolved; 1: being resolved (by some thread); 2: ready to read.
std::atomic<int> g_state{0};

template <class F>
void lookup(F& slot, const char* name) noexcept {
    slot = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

void resolve_all() noexcept {
#define GROVE_REAL_LOOKUP(name, ret, params, args, fallback) lookup(g_table.name, #name);
    GROVE_REAL_FUNCTIONS(GROVE_REAL_LOOKUP)
#undef GROVE_REAL_LOOKUP
    lookup(g_table.fcntl, "fcntl");
    lookup(g_table.ioctl, "ioctl");
}

// Resolve at load time, so the first hooked call of the process rarely pays.
[[gnu::constructor(101)]] void resolve_at_load() { real_table(); }

}  // namespace

const RealTable* real_table() noexcept {
    int state = g_state.load(std::memory_order_acquire);
    if (state == 2) return &g_table;
    if (state == 0 && g_state.compare_exchange_strong(state, 1, std::memory_order_acq_rel)) {
        // Anything dlsym calls that lands in a hook sees state 1: raw syscalls.
        resolve_all();
        g_state.store(2, std::memory_order_release);
        return &g_table;
    }
    return nullptr;
}

int raw_poll(pollfd* p, nfds_t n, int timeout_ms) noexcept {
    timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
    return static_cast<int>(syscall(SYS_ppoll, p, n, timeout_ms < 0 ? nullptr : &ts, nullptr, _NSIG / 8));
}

int raw_clock_nanosleep(clockid_t c, int flags, const timespec* req, timespec* rem) noexcept {
    // clock_nanosleep returns the error instead of setting errno.
    const int saved = errno;
    const long r = syscall(SYS_clock_nanosleep, c, flags, req, rem);
    const int err = r == 0 ? 0 : errno;
    errno = saved;
    return err;
}

unsigned raw_sleep(unsigned seconds) noexcept {
    timespec req{static_cast<time_t>(seconds), 0}, rem{0, 0};
    if (syscall(SYS_nanosleep, &req, &rem) == 0) return 0;
    return static_cast<unsigned>(rem.tv_sec + (rem.tv_nsec > 0 ? 1 : 0));
}

int raw_usleep(useconds_t usec) noexcept {
    timespec req{static_cast<time_t>(usec / 1000000), static_cast<long>(usec % 1000000) * 1000L};
    return static_cast<int>(syscall(SYS_nanosleep, &req, nullptr));
}

int unresolved_eai() noexcept {
    errno = EAGAIN;
    return EAI_SYSTEM;
}

}  // namespace grove::hooks

namespace grove::monkey {

bool hooks_interposed() {
    // Whose nanosleep does the global lookup find: this library's?
    Dl_info theirs{}, mine{};
    void* sym = dlsym(RTLD_DEFAULT, "nanosleep");
    return sym && dladdr(sym, &theirs) && dladdr(reinterpret_cast<void*>(&hooks::raw_usleep), &mine) &&
           theirs.dli_fbase == mine.dli_fbase;
}

}  // namespace grove::monkey
