// grove internal — reading a suspended greenlet's stack by "probing" it.
//
// A suspended greenlet's frames sit on its own stack, below the switch that
// suspended it; only code running on that stack can unwind them. So the
// greenlet that wants them (the requester) switches into the target with a
// request (probe_), the target — still inside switch_to, before returning to
// any of its own code — records its return addresses and switches straight
// back. The target's ready/parked state, its pending exception and the
// ready queue are not touched: to the scheduler nothing happened.
//
//   requester: probe_stack ──context_switch──► target: switch_to (returns twice)
//                                                 answer_probes: capture_stack
//   requester: probe_stack ◄──context_switch──     answer_probes (suspended again,
//                                                  here, until resumed for real)
#include "context.hpp"
#include "runtime.hpp"
#include "frames.hpp"

namespace grove::detail {

struct HubImpl::Probe {
    GreenletBase* target;
    GreenletBase* requester;
    std::uintptr_t* pcs;
    std::size_t capacity;
    std::size_t depth;
};

std::size_t HubImpl::probe_stack(GreenletBase& target, std::uintptr_t* pcs, std::size_t capacity) noexcept {
    GreenletRecord& t = Runtime::record(target);
    // Only a greenlet suspended inside switch_to can answer: alive, begun,
    // not running; the hub fiber only after its first run (before it, its
    // context would start run_loop), and the main greenlet always.
    const bool suspended_in_switch =
        begun_alive(t.state) && t.ctx.fctx != nullptr && &target != current_ && (t.is_main || t.switches > 0);
    if (!suspended_in_switch || probe_ != nullptr) return 0;
    GreenletBase* self = current_;
    Probe probe{&target, self, pcs, capacity, 0};
    probe_ = &probe;
    current_ = &target;
    context_switch(Runtime::record(*self).ctx, t.ctx);
    // Returns here when the target has answered; it set current_ back to us.
    probe_ = nullptr;
    return probe.depth;
}

void HubImpl::answer_probes(GreenletBase* cur) noexcept {
    while (probe_ != nullptr && probe_->target == cur) {
        Probe& probe = *probe_;
        probe.depth = capture_stack(probe.pcs, probe.capacity);
        current_ = probe.requester;
        context_switch(Runtime::record(*cur).ctx, Runtime::record(*probe.requester).ctx);
        // Returns here when `cur` is resumed again: by the scheduler (probe_
        // is null), or by another probe for it (loop).
    }
}

}  // namespace grove::detail
