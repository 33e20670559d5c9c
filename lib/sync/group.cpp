// grove-sync — Group and Pool.
//
// Membership: a greenlet is in members_ from insert() until discard(); while
// it is, it holds one slot of the size policy and one death link (which
// discards it). discard() is the only way out, so the slot is given back
// exactly once, whichever comes first: death, discard() or kill().
#include <stdexcept>

#include <grove/exceptions.hpp>
#include <grove/sync/pool.hpp>

namespace grove {

Group::~Group() {
    for (auto& [ptr, m] : members_) m.greenlet->unlink(m.link);
}

void Group::insert(const Ref<GreenletBase>& g) {
    const auto id = g->link([this](GreenletBase& dead) { on_death(dead); });
    members_.emplace(g.get(), Member{g, id});
}

void Group::on_death(GreenletBase& g) noexcept {
    if (!contains(&g)) return;
    if (g.exception() && !first_error_) first_error_ = g.exception();
    discard(&g);
}

void Group::add(const Ref<GreenletBase>& g, bool block, std::optional<Duration> timeout) {
    if (!g) throw std::invalid_argument("grove::Group::add: null greenlet");
    if (contains(g.get())) return;
    if (!acquire_slot(block, timeout)) throw QueueFull("grove::Pool::add: the pool is full");
    try {
        insert(g);
    } catch (...) {
        release_slot();
        throw;
    }
}

void Group::discard(const GreenletBase* g) noexcept {
    auto it = members_.find(g);
    if (it == members_.end()) return;
    it->second.greenlet->unlink(it->second.link);
    members_.erase(it);
    dying_.erase(g);
    release_slot();
    if (members_.empty()) empty_waiters_.notify_all();
}

std::vector<Ref<GreenletBase>> Group::greenlets() const {
    std::vector<Ref<GreenletBase>> out;
    out.reserve(members_.size());
    for (const auto& [ptr, m] : members_) out.push_back(m.greenlet);
    return out;
}

bool Group::join(std::optional<Duration> timeout, bool raise_error) {
    if (!members_.empty()) {
        WaitSite<> site("Group.join", this);
        empty_waiters_.push_back(site.node());
        if (!site.waiter().wait(timeout)) return false;
    }
    if (raise_error && first_error_) std::rethrow_exception(std::exchange(first_error_, nullptr));
    return true;
}

void Group::kill(std::exception_ptr e, bool block, std::optional<Duration> timeout) {
    const auto deadline = detail::deadline_after(timeout, "Group.kill");
    const GreenletBase* me = getcurrent();
    for (;;) {
        std::vector<Ref<GreenletBase>> victims;
        for (const auto& [ptr, m] : members_)
            if (ptr != me) victims.push_back(m.greenlet);
        for (const auto& g : victims)
            if (dying_.insert(g.get()).second) g->kill(e, false);
        if (!block || victims.empty()) return;
        std::optional<Duration> left;
        if (deadline) left = *deadline == Deadline::min() ? Duration::zero() : Duration(*deadline - now());
        const auto dead = joinall(victims, left);
        for (const auto& g : dead) on_death(*g);   // gone when kill() returns, not a hub turn later
        if (dead.size() < victims.size()) return;  // out of time
        // Everyone shot is dead; members that joined meanwhile are shot next.
    }
}

bool Group::wait_available(std::optional<Duration>) { return true; }

Pool::Pool(std::size_t capacity) : capacity_(capacity), slots_(static_cast<int>(capacity)) {
    if (capacity == 0) throw std::invalid_argument("grove::Pool: capacity must be at least 1");
}

void Pool::release_slot() noexcept { slots_.release(); }

}  // namespace grove
