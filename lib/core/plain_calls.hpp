// grove internal — a per-thread "make my libc calls plain" flag. grove's own
// code sets it around blocking libc calls that must never be made
// cooperative by grove-hooks: the thread pool joining its workers (also from
// its destructor at thread exit, when the hub and the pool's bookkeeping may
// already be gone). The hooks check it before taking the cooperative path.
#pragma once

namespace grove::detail {

extern thread_local bool t_plain_calls;  // lib/core/hub_api.cpp

class PlainCalls {
public:
    PlainCalls() noexcept : previous_(t_plain_calls) { t_plain_calls = true; }
    ~PlainCalls() { t_plain_calls = previous_; }
    PlainCalls(const PlainCalls&) = delete;
    PlainCalls& operator=(const PlainCalls&) = delete;

private:
    bool previous_;
};

}  // namespace grove::detail
