// grove benchmarks — baselines written without grove (marl's rule: every
// number needs something to be compared with). Same compiler, same flags,
// same run as core_bench:
//   raw jump_fcontext ping-pong     the floor for one switch
//   boost::context::fiber ping-pong the same through Boost's safe wrapper
//   pooled fiber create+run+destroy the floor for spawn+run+join
#include <cstdint>
#include <cstdlib>
#include <utility>

#include <sys/mman.h>

#include <boost/context/detail/fcontext.hpp>
#include <boost/context/fiber.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>

#include "bench_util.hpp"

namespace {

namespace bctx = boost::context;
namespace raw = boost::context::detail;

constexpr std::size_t kStackSize = 128 * 1024;

struct MappedStack {
    MappedStack() {
        mem = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (mem == MAP_FAILED) std::abort();
    }
    ~MappedStack() { munmap(mem, kStackSize); }
    void* top() const { return static_cast<char*>(mem) + kStackSize; }
    void* mem;
};

// The partner side: jumps straight back, forever (the stack is simply dropped).
void raw_pong(raw::transfer_t t) {
    for (;;) t = raw::jump_fcontext(t.fctx, nullptr);
}

// One iteration = there and back = 2 one-way switches.
void BM_RawFcontextSwitch(benchmark::State& state) {
    MappedStack stack;
    raw::fcontext_t partner = raw::make_fcontext(stack.top(), kStackSize, &raw_pong);
    raw::transfer_t t = raw::jump_fcontext(partner, nullptr);
    for (auto _ : state) {
        t = raw::jump_fcontext(t.fctx, nullptr);
        benchmark::DoNotOptimize(t.fctx);
    }
    grove_bench::report_ops(state, 2);
}
BENCHMARK(BM_RawFcontextSwitch);

// Diagnostic: the same raw jump, but made from inside a non-inlined switch
// function that returns to its caller, as grove's context_switch() is. Both
// sides then `ret` to a different caller than the one that called in, which
// the CPU's return-stack predictor gets wrong on every switch.
struct ViaFunction {
    raw::fcontext_t other = nullptr;
};
ViaFunction g_via;

[[gnu::noinline]] void switch_via_function() {
    raw::transfer_t t = raw::jump_fcontext(g_via.other, nullptr);
    g_via.other = t.fctx;
}

// A call chain of `D` more non-inlined frames above the switch function,
// shared by both sides, as grove's wait() → suspend() → switch_to() →
// context_switch() is. (The empty asm keeps the calls from becoming jumps.)
template <int D>
[[gnu::noinline]] void call_chain(void (*sw)()) {
    if constexpr (D == 0)
        sw();
    else
        call_chain<D - 1>(sw);
    asm volatile("" ::: "memory");
}

constexpr int kChain = 3;

void via_pong(raw::transfer_t t) {
    g_via.other = t.fctx;
    for (;;) call_chain<kChain>(&switch_via_function);
}

void BM_RawFcontextSwitchViaFunction(benchmark::State& state) {
    MappedStack stack;
    g_via.other = raw::make_fcontext(stack.top(), kStackSize, &via_pong);
    switch_via_function();
    for (auto _ : state) call_chain<kChain>(&switch_via_function);
    grove_bench::report_ops(state, 2);
}
BENCHMARK(BM_RawFcontextSwitchViaFunction);

#if defined(__x86_64__) && defined(__linux__)
// Diagnostic for the recommendation in RESULTS.md: a switch that ends in `ret`
// (not Boost 1.74's `pop %r8; jmp *%r8`), so every call into it on one stack
// is paired with a return out of it on the other and the return-stack
// predictor stays in step. Same work otherwise: callee-saved registers,
// MXCSR and the x87 control word.
//   void balanced_switch(void** save_sp, void* load_sp)
extern "C" void balanced_switch(void** save_sp, void* load_sp);
asm(R"(
    .text
    .p2align 4
    .type balanced_switch, @function
balanced_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size balanced_switch, .-balanced_switch
)");

// The drop-in form of that fix: Boost 1.74's x86_64 jump_fcontext copied
// instruction for instruction (same frame layout, works with make_fcontext
// contexts, same transfer_t), except that it leaves with `ret`.
extern "C" raw::transfer_t jump_fcontext_ret(raw::fcontext_t to, void* data);
asm(R"(
    .text
    .p2align 4
    .type jump_fcontext_ret, @function
jump_fcontext_ret:
    leaq -0x38(%rsp), %rsp
    stmxcsr (%rsp)
    fnstcw 0x4(%rsp)
    movq %r12, 0x8(%rsp)
    movq %r13, 0x10(%rsp)
    movq %r14, 0x18(%rsp)
    movq %r15, 0x20(%rsp)
    movq %rbx, 0x28(%rsp)
    movq %rbp, 0x30(%rsp)
    movq %rsp, %rax
    movq %rdi, %rsp
    ldmxcsr (%rsp)
    fldcw 0x4(%rsp)
    movq 0x8(%rsp), %r12
    movq 0x10(%rsp), %r13
    movq 0x18(%rsp), %r14
    movq 0x20(%rsp), %r15
    movq 0x28(%rsp), %rbx
    movq 0x30(%rsp), %rbp
    leaq 0x38(%rsp), %rsp
    movq %rsi, %rdx
    movq %rax, %rdi
    ret
    .size jump_fcontext_ret, .-jump_fcontext_ret
)");

ViaFunction g_via_ret;

[[gnu::noinline]] void switch_via_function_ret() {
    raw::transfer_t t = jump_fcontext_ret(g_via_ret.other, nullptr);
    g_via_ret.other = t.fctx;
    asm volatile("" ::: "memory");
}

void via_ret_pong(raw::transfer_t t) {
    g_via_ret.other = t.fctx;
    for (;;) call_chain<kChain>(&switch_via_function_ret);
}

void BM_RetFcontextSwitchViaFunction(benchmark::State& state) {
    MappedStack stack;
    g_via_ret.other = raw::make_fcontext(stack.top(), kStackSize, &via_ret_pong);
    switch_via_function_ret();
    for (auto _ : state) call_chain<kChain>(&switch_via_function_ret);
    grove_bench::report_ops(state, 2);
}
BENCHMARK(BM_RetFcontextSwitchViaFunction);

struct Balanced {
    void* sp[2] = {nullptr, nullptr};  // saved stack pointers: [0] main, [1] partner
    int running = 0;
};
Balanced g_bal;

// Shared by both sides, like switch_via_function above.
[[gnu::noinline]] void balanced_switch_other() {
    const int from = g_bal.running;
    g_bal.running = 1 - from;
    balanced_switch(&g_bal.sp[from], g_bal.sp[1 - from]);
    asm volatile("" ::: "memory");
}

[[noreturn]] void balanced_entry() {
    for (;;) call_chain<kChain>(&balanced_switch_other);
}

void BM_BalancedSwitchViaFunction(benchmark::State& state) {
    MappedStack stack;
    // Initial frame, from the top down: fake return address (alignment),
    // entry, rbp rbx r12 r13 r14 r15, MXCSR | x87 control word.
    auto* top = static_cast<std::uint64_t*>(stack.top());
    std::uint64_t* sp = top - 9;
    sp[0] = 0x1F80 | (std::uint64_t{0x037F} << 32);  // default MXCSR, x87 CW
    for (int i = 1; i <= 6; ++i) sp[i] = 0;
    sp[7] = reinterpret_cast<std::uint64_t>(&balanced_entry);
    sp[8] = 0;
    g_bal.sp[1] = sp;
    g_bal.running = 0;
    balanced_switch_other();
    for (auto _ : state) call_chain<kChain>(&balanced_switch_other);
    grove_bench::report_ops(state, 2);
}
BENCHMARK(BM_BalancedSwitchViaFunction);
#endif

// One iteration = resume + the fiber's resume back = 2 one-way switches.
void BM_RawFiberSwitch(benchmark::State& state) {
    bool stop = false;
    bctx::fiber f{[&stop](bctx::fiber&& caller) {
        while (!stop) caller = std::move(caller).resume();
        return std::move(caller);
    }};
    f = std::move(f).resume();  // let it reach its loop
    for (auto _ : state) {
        f = std::move(f).resume();
        benchmark::DoNotOptimize(&f);
    }
    stop = true;
    std::move(f).resume();
    grove_bench::report_ops(state, 2);
}
BENCHMARK(BM_RawFiberSwitch);

// The issue's "pooled fiber create+run+destroy": one fiber per iteration on a
// pooled stack, run to its end.
void BM_RawFiberCreateRunDestroy(benchmark::State& state) {
    bctx::pooled_fixedsize_stack pool(kStackSize);
    int runs = 0;
    for (auto _ : state) {
        bctx::fiber f{std::allocator_arg, pool, [&runs](bctx::fiber&& caller) {
                          ++runs;
                          return std::move(caller);
                      }};
        f = std::move(f).resume();
        benchmark::DoNotOptimize(runs);
    }
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_RawFiberCreateRunDestroy);

}  // namespace

BENCHMARK_MAIN();
