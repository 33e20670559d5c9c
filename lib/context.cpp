// grove internal — the switch. Read PITFALLS.md first: every step here exists
// because something broke without it.
#include "context.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cxxabi.h>
#include <pthread.h>

#include <boost/context/detail/fcontext.hpp>

#include "stack.hpp"

#if GROVE_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if GROVE_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace grove::detail {
namespace {

namespace bctx = boost::context::detail;

// libstdc++'s per-thread exception state (unwind-cxx.h). A switch does not
// touch it, so without saving it per greenlet, one greenlet's `throw;` would
// rethrow another's exception.
struct EhGlobals {
    void* caught;
    unsigned int uncaught;
};

// __cxa_get_globals is declared `const`: the compiler may fold calls across
// a switch. Greenlets never migrate threads, so caching the pointer per thread
// is right; reading it through a non-inlined accessor keeps that explicit.
[[gnu::noinline]] EhGlobals* read_eh_globals() noexcept {
    return reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
}

thread_local EhGlobals* t_eh = nullptr;
thread_local void (*t_entry)() = nullptr;

// What every jump carries to the context it resumes. `from` is the context
// that just stopped (to be resumable later), or null when it died; then
// `after(arg)` runs first on the resumed stack (it frees the dead one's stack).
// Plain jumps only: ontop_fcontext into a never-run context hands its result
// to the entry in the wrong registers.
struct Handoff {
    ContextState* from;
    void (*after)(void*);
    void* arg;
};

inline void save_thread_state(ContextState& c) noexcept {
    c.eh_caught = t_eh->caught;
    c.eh_uncaught = t_eh->uncaught;
    c.saved_errno = errno;
}

inline void restore_thread_state(const ContextState& c) noexcept {
    t_eh->caught = c.eh_caught;
    t_eh->uncaught = c.eh_uncaught;
    errno = c.saved_errno;
}

inline void sanitizer_leave(ContextState& from, const ContextState& to, bool from_dies) noexcept {
#if GROVE_ASAN
    // A null fake-stack slot tells ASan the context never runs again.
    __sanitizer_start_switch_fiber(from_dies ? nullptr : &from.asan_fake_stack, to.stack_base, to.stack_size);
#endif
#if GROVE_TSAN
    if (to.tsan_fiber) __tsan_switch_to_fiber(to.tsan_fiber, 0);
#endif
    (void)from;
    (void)to;
    (void)from_dies;
}

inline void sanitizer_arrived(ContextState& self) noexcept {
#if GROVE_ASAN
    const void* old_bottom = nullptr;
    std::size_t old_size = 0;
    __sanitizer_finish_switch_fiber(self.asan_fake_stack, &old_bottom, &old_size);
#endif
    (void)self;
}

// Whoever jumped here stopped at t.fctx: store it so it can be resumed, or,
// if it died, run its last request (copied out: the request lives on the
// stack that `after` frees).
inline void arrived(bctx::transfer_t t) noexcept {
    const Handoff h = *static_cast<const Handoff*>(t.data);
    if (h.from)
        h.from->fctx = t.fctx;
    else
        h.after(h.arg);
}

// First frame of every greenlet stack. Never returns: `t_entry` ends with
// context_exit.
void trampoline(bctx::transfer_t t) noexcept {
#if GROVE_ASAN
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
    arrived(t);
    t_eh->caught = nullptr;  // a greenlet spawned inside a catch starts clean
    t_eh->uncaught = 0;
    errno = 0;
    t_entry();
    std::fputs("grove: greenlet entry returned (internal error)\n", stderr);
    std::abort();
}

}  // namespace

void context_thread_init(ContextState& main_context) {
    t_eh = read_eh_globals();
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void* addr = nullptr;
        std::size_t size = 0;
        pthread_attr_getstack(&attr, &addr, &size);
        pthread_attr_destroy(&attr);
        main_context.stack_base = addr;
        main_context.stack_size = size;
    }
    main_context.stack_guarded = true;  // the kernel guards the thread's own stack
#if GROVE_TSAN
    main_context.tsan_fiber = __tsan_get_current_fiber();
#endif
}

void context_make(ContextState& c, void (*entry)()) {
    t_entry = entry;
    char* top = static_cast<char*>(c.stack_base) + c.stack_size;
    c.fctx = bctx::make_fcontext(top, c.stack_size, &trampoline);
}

void context_switch(ContextState& from, ContextState& to) noexcept {
    if (!from.stack_guarded) check_canary(from, "a greenlet");
    save_thread_state(from);
    sanitizer_leave(from, to, false);
    bctx::fcontext_t target = to.fctx;
    to.fctx = nullptr;
    Handoff handoff{&from, nullptr, nullptr};
    bctx::transfer_t t = bctx::jump_fcontext(target, &handoff);
    // Returns here the second time: someone switched back to `from`.
    sanitizer_arrived(from);
    arrived(t);
    restore_thread_state(from);
}

void context_exit(ContextState& from, ContextState& to, void (*after)(void*), void* arg) noexcept {
    if (!from.stack_guarded) check_canary(from, "a dying greenlet");
    Handoff handoff{nullptr, after, arg};
    sanitizer_leave(from, to, true);
    bctx::fcontext_t target = to.fctx;
    to.fctx = nullptr;
    bctx::jump_fcontext(target, &handoff);
    std::fputs("grove: a dead greenlet was resumed (internal error)\n", stderr);
    std::abort();
}

void check_canary(const ContextState& c, const char* who) noexcept {
    if (c.stack_base && !stack_canary_intact(c.stack_base)) {
        std::fprintf(stderr,
                     "grove: stack overflow in %s (unguarded %zu-byte stack at %p, canary overwritten); "
                     "raise GROVE_STACK_SIZE\n",
                     who, c.stack_size, c.stack_base);
        std::abort();
    }
}

}  // namespace grove::detail
