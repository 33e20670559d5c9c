// grove internal — the switch. Read docs/design.md ("Exception globals",
// "Sanitizer annotations") first: every step here exists because something
// broke without it.
#include "context.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cxxabi.h>
#include <pthread.h>

#include <boost/context/detail/fcontext.hpp>

#include "compact.hpp"
#include "stack.hpp"

#if GROVE_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if GROVE_TSAN
#include <sanitizer/tsan_interface.h>
#endif

// --- the jump ------------------------------------------------------------------
//
// Boost.Context makes every new context (make_fcontext) and owns the frame
// layout. On x86-64 grove jumps with its own routine over that same layout:
// Boost 1.74's jump_fcontext leaves through `jmp *%r8`, which unbalances the
// CPU's return-stack predictor, so every `ret` up the caller's chain after a
// switch mispredicts (measured: 63 ns vs 19 ns per switch under a 4-frame call
// chain, bench/RESULTS.md). Leaving through `ret` keeps it balanced.
//
// A suspended context's stack, from its saved stack pointer (the fcontext) up:
//   +0x00  MXCSR (4 bytes) and x87 control word (2 bytes)
//   +0x08  r12   +0x10 r13   +0x18 r14   +0x20 r15   +0x28 rbx   +0x30 rbp
//   +0x38  where to continue (the return address of the call that jumped away;
//          for a new context, make_fcontext's entry stub)
// The jump returns transfer_t {fctx of the context it left, data} in rax:rdx,
// and also passes it in rdi:rsi, where a new context's entry function reads it.
#if defined(__x86_64__) && defined(__linux__) && !defined(GROVE_BOOST_JUMP)
extern "C" boost::context::detail::transfer_t grove_jump_fcontext(boost::context::detail::fcontext_t to,
                                                                  void* data) noexcept;
asm(R"(
    .text
    .p2align 4
    .hidden grove_jump_fcontext
    .type grove_jump_fcontext, @function
grove_jump_fcontext:
    subq    $0x38, %rsp
    stmxcsr (%rsp)
    fnstcw  0x4(%rsp)
    movq    %r12, 0x08(%rsp)
    movq    %r13, 0x10(%rsp)
    movq    %r14, 0x18(%rsp)
    movq    %r15, 0x20(%rsp)
    movq    %rbx, 0x28(%rsp)
    movq    %rbp, 0x30(%rsp)
    movq    %rsp, %rax
    movq    %rdi, %rsp
    ldmxcsr (%rsp)
    fldcw   0x4(%rsp)
    movq    0x08(%rsp), %r12
    movq    0x10(%rsp), %r13
    movq    0x18(%rsp), %r14
    movq    0x20(%rsp), %r15
    movq    0x28(%rsp), %rbx
    movq    0x30(%rsp), %rbp
    addq    $0x38, %rsp
    movq    %rsi, %rdx
    movq    %rax, %rdi
    ret
    .size grove_jump_fcontext, .-grove_jump_fcontext
    .section .note.GNU-stack,"",@progbits
    .text
)");
#define GROVE_JUMP grove_jump_fcontext
#else
#define GROVE_JUMP boost::context::detail::jump_fcontext
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

// initial-exec: a plain %fs-relative load on the switch path instead of a
// __tls_get_addr call (libgrove is loaded at start-up, never dlopen'ed late).
[[gnu::tls_model("initial-exec")]] thread_local EhGlobals* t_eh = nullptr;
[[gnu::tls_model("initial-exec")]] thread_local void (*t_entry)() = nullptr;
// errno is `*__errno_location()`, a call into libc; its address is fixed per
// thread, so the switch reads it once (context_thread_init) and keeps it.
[[gnu::tls_model("initial-exec")]] thread_local int* t_errno = nullptr;

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
    c.saved_errno = *t_errno;
}

inline void restore_thread_state(const ContextState& c) noexcept {
    t_eh->caught = c.eh_caught;
    t_eh->uncaught = c.eh_uncaught;
    *t_errno = c.saved_errno;
}

inline void sanitizer_leave(ContextState& from, const ContextState& to, bool from_dies) noexcept {
#if GROVE_ASAN
    // A null fake-stack slot tells ASan the context never runs again.
    __sanitizer_start_switch_fiber(from_dies ? nullptr : &from.asan_fake_stack, to.stack_base, to.stack_size);
#endif
#if GROVE_TSAN
    // Right before the jump: every frame after this belongs to `to`.
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
    if (h.from) {
        h.from->fctx = t.fctx;
        if (h.from->copy_out) [[unlikely]]  // a compact greenlet parked: its stack is still now
            compact_park(*h.from);
    } else {
        h.after(h.arg);
    }
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
    t_errno = &errno;
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
    if (to.copy || to.copy_out) [[unlikely]]
        compact_copy_in(to);
    sanitizer_leave(from, to, false);
    bctx::fcontext_t target = to.fctx;
    to.fctx = nullptr;
    Handoff handoff{&from, nullptr, nullptr};
    bctx::transfer_t t = GROVE_JUMP(target, &handoff);
    // Returns here the second time: someone switched back to `from`.
    sanitizer_arrived(from);
    arrived(t);
    restore_thread_state(from);
}

void context_exit(ContextState& from, ContextState& to, void (*after)(void*), void* arg) noexcept {
    if (!from.stack_guarded) check_canary(from, "a dying greenlet");
    Handoff handoff{nullptr, after, arg};
    if (to.copy || to.copy_out) [[unlikely]]
        compact_copy_in(to);
    sanitizer_leave(from, to, true);
    bctx::fcontext_t target = to.fctx;
    to.fctx = nullptr;
    GROVE_JUMP(target, &handoff);
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
