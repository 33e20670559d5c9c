// grove internal — the text of a stack overflow: whose stack, how large, and
// what to set (stack.cpp's fault handler asks the hub through this).
#include <cstdio>
#include <string>

#include "runtime.hpp"
#include "stack.hpp"

namespace grove::detail {

bool HubImpl::describe_overflow(const void* fault, const void* sp, char* out, std::size_t out_size) {
    HubImpl* hub = t_hub;
    if (!hub || !hub->current_) return false;
    const GreenletRecord& r = Runtime::record(*hub->current_);
    const ContextState& c = r.ctx;
    if (!c.stack_base || hub->current_ == &hub->main_) return false;
    const char* base = static_cast<const char*>(c.stack_base);
    const char* addr = static_cast<const char*>(fault);
    const bool below_guard = addr < base && addr >= base - 64 * 1024;  // the guard, or a frame that jumped it
    // An unguarded stack runs through its canary into whatever lies below
    // before something faults: the stack pointer (or the canary) says whose.
    const bool sp_below = sp && static_cast<const char*>(sp) < base;
    const bool overflowed = below_guard || sp_below || (!c.stack_guarded && !stack_canary_intact(c.stack_base));
    if (!overflowed) return false;
    std::string who;
    try {
        who = hub->current_->describe();
    } catch (...) {
        who = "<greenlet>";
    }
    // The size asked for, not the usable size (a little more: the mapping
    // rounds up past the record room). Both defaults were computed long
    // before any overflow, so reading them here is a plain load.
    const std::size_t asked = r.stack_request                        ? r.stack_request
                              : hub->current_ == &hub->hub_greenlet_ ? kHubStackSize
                                                                     : default_stack_size();
    std::snprintf(out, out_size,
                  "grove: stack overflow in %s: its %zu-byte stack is exhausted "
                  "(set GROVE_STACK_SIZE, e.g. GROVE_STACK_SIZE=1M, or SpawnOptions::stack_size)\n",
                  who.c_str(), asked);
    return true;
}

}  // namespace grove::detail
