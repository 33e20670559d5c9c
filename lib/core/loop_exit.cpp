// grove internal — when the hub runs dry: LoopExit for the main greenlet (or
// Hub::join's return), with the text that says who waits on what and the
// wait-for cycle among joins, the usual reason a program blocks forever.
#include <algorithm>
#include <string>
#include <vector>

#include <grove/exceptions.hpp>

#include "runtime.hpp"
#include "wait_object.hpp"

namespace grove::detail {

void HubImpl::loop_ran_dry() {
    if (joiner_) {
        joiner_->wake();
        return;
    }
    GreenletRecord& m = Runtime::record(main_);
    if (m.state == GreenletState::Ready || m.interrupts.any()) return;  // it will run and see it
    m.interrupts.deliver({std::make_exception_ptr(LoopExit(describe_waiters())), kKillSource});
    schedule(&main_);
}

std::string HubImpl::describe_waiters() const {
    std::string text = "This operation would block forever";
    auto line = [&text](const GreenletBase& g) {
        const GreenletRecord& s = Runtime::record(g);
        text += "\n  " + g.describe();
        if (s.parked_on) text += " waits on " + describe_wait(*s.parked_on);
    };
    line(main_);
    for (GreenletBase* g = live_head_; g; g = Runtime::record(*g).live_next) line(*g);
    text += describe_join_cycle();
    return text;
}

// Joins form a wait-for graph (a WaitKind::Join Waiter's object is the
// greenlet joined). A cycle in it is the usual reason a program blocks forever.
std::string HubImpl::describe_join_cycle() const {
    auto joins = [](const GreenletBase* g) -> const GreenletBase* {
        const Waiter* w = Runtime::record(*g).parked_on;
        if (!w || Runtime::kind(*w) != WaitKind::Join) return nullptr;
        return static_cast<const GreenletBase*>(w->object());
    };
    std::vector<const GreenletBase*> all{&main_};
    for (GreenletBase* g = live_head_; g; g = Runtime::record(*g).live_next) all.push_back(g);
    for (const GreenletBase* start : all) {
        std::vector<const GreenletBase*> path;
        for (const GreenletBase* g = start; g && path.size() <= all.size(); g = joins(g)) {
            const auto seen = std::find(path.begin(), path.end(), g);
            if (seen != path.end()) {
                if (seen != path.begin()) break;  // a cycle further on: reported from its own start
                std::string cycle = "\n  wait-for cycle: ";
                for (const GreenletBase* c : path) cycle += c->describe() + " joins ";
                return cycle + start->describe();
            }
            path.push_back(g);
        }
    }
    return {};
}

}  // namespace grove::detail
