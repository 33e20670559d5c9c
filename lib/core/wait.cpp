// grove internal — IWait: one Waiter linked into many objects' wait lists.
#include <algorithm>

#include <grove/wait.hpp>

#include "compact.hpp"

namespace grove {

struct IWait::Node final : WaitNode {
    Node(IWait& owner, std::size_t index) : WaitNode(*owner.waiter_), owner_(owner), index_(index) {}
    void notify() noexcept override {
        owner_.fired_.push_back(index_);  // capacity reserved up front: cannot throw
        waiter().wake();
    }
    IWait& owner_;
    std::size_t index_;
};

IWait::IWait(std::vector<Waitable*> objects, std::optional<Duration> timeout, std::optional<std::size_t> count)
    : objects_(std::move(objects)),
      deadline_(detail::deadline_after(timeout, "iwait")),
      remaining_(std::min(count.value_or(objects_.size()), objects_.size())),
      waiter_(std::make_unique<Waiter>("iwait", this)) {
    fired_.reserve(objects_.size());
    nodes_.reserve(objects_.size());
    for (std::size_t i = 0; i < objects_.size(); ++i) {
        if (objects_[i]->ready()) {
            fired_.push_back(i);
            continue;
        }
        nodes_.push_back(std::make_unique<Node>(*this, i));
        objects_[i]->waiters().push_back(*nodes_.back());
    }
    // Its nodes write fired_ here when an object becomes ready: a compact
    // greenlet keeping this on its stack must stay in place while it waits.
    detail::compact_pin(this, +1);
}

IWait::~IWait() {
    nodes_.clear();
    detail::compact_pin(this, -1);
}

std::optional<std::size_t> IWait::next() {
    if (remaining_ == 0) return std::nullopt;
    while (fired_pos_ == fired_.size()) {
        waiter_->reset();
        if (fired_pos_ != fired_.size()) break;
        if (!waiter_->wait_until(deadline_)) return std::nullopt;
    }
    --remaining_;
    return fired_[fired_pos_++];
}

}  // namespace grove
