// grove internal — format_run_info(): every live greenlet of every hub.
//
// A hub is only ever described on its own thread (its lists and its
// greenlets' stacks belong to it): the calling thread's hub directly, the
// others by posting a request to them (Hub::Remote) and waiting for the text
// to come back. On its thread, the dump takes all raw stacks first (probes
// switch, symbolising does not), so the picture is one instant of that hub.
#include <grove/util.hpp>

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <grove/waiter.hpp>

#include "../core/runtime.hpp"
#include "../core/clock.hpp"
#include "../core/frames.hpp"
#include "../core/wait_object.hpp"
#include "hub_registry.hpp"
#include "observe.hpp"

namespace grove::util {
namespace {

using detail::GreenletRecord;
using detail::GreenletState;
using detail::HubImpl;
using detail::Runtime;

constexpr std::size_t kMaxFrames = 64;

struct Row {
    std::uint64_t ident = 0;
    std::uint64_t parent = 0;
    std::string title;
    std::string state;
    std::string counters;
    std::vector<std::uintptr_t> pcs;
};

std::string state_of(HubImpl& hub, GreenletBase& g) {
    const GreenletRecord& s = Runtime::record(g);
    if (&g == hub.current_greenlet()) return "running";
    switch (s.state) {
        case GreenletState::Dead:
        case GreenletState::Notifying:
            return "dead (its report and links are queued)";
        case GreenletState::Scheduled:
            return "ready (not begun)";
        case GreenletState::Delayed:
            return "scheduled by start_later (not begun)";
        case GreenletState::Ready:
            return s.parked_on ? "ready (woken from " + detail::describe_wait(*s.parked_on) + ")" : "ready";
        default:
            break;
    }
    if (s.parked_on) return "suspended, waits on " + detail::describe_wait(*s.parked_on);
    return "suspended";
}

std::string counters_of(HubImpl& hub, const GreenletBase& g) {
    const GreenletRecord& s = Runtime::record(g);
    std::string out = fmt::format("{} switches", s.switches);
    if (hub.timing()) {
        out += fmt::format(", ran {:.3f} ms", static_cast<double>(s.run_ns) / 1e6);
        if (s.spawned_at_ns)
            out += fmt::format(", spawned {:.3f} s ago", (detail::real_now_ns() - s.spawned_at_ns) / 1e9);
    }
    return out;
}

Row row_of(HubImpl& hub, GreenletBase& g) {
    const GreenletRecord& s = Runtime::record(g);
    Row row;
    row.ident = g.minimal_ident();
    row.parent = s.parent_ident;
    row.title = g.describe();
    row.state = state_of(hub, g);
    row.counters = counters_of(hub, g);
    row.pcs.resize(kMaxFrames);
    std::size_t depth = 0;
    if (&g == hub.current_greenlet())
        depth = detail::capture_stack(row.pcs.data(), row.pcs.size());
    else if (detail::begun_alive(s.state))
        depth = hub.probe_stack(g, row.pcs.data(), row.pcs.size());
    row.pcs.resize(depth);
    return row;
}

void print_tree(std::string& out, const std::vector<Row>& rows,
                const std::multimap<std::uint64_t, std::size_t>& children, std::uint64_t hub_ident, std::size_t index,
                int depth, bool orphan) {
    const Row& row = rows[index];
    const std::string indent(static_cast<std::size_t>(depth) * 4, ' ');
    out += fmt::format("{}+ #{} {}\n{}  {}; {}", indent, row.ident, row.title, indent, row.state, row.counters);
    if (orphan && row.parent == hub_ident)
        out += "; spawned by the hub (a callback)";
    else if (orphan && row.parent)
        out += fmt::format("; spawned by #{} (gone)", row.parent);
    out += '\n';
    out += detail::format_stack(row.pcs.data(), row.pcs.size(), indent + "    ");
    auto [begin, end] = children.equal_range(row.ident);
    for (auto it = begin; it != end; ++it) print_tree(out, rows, children, hub_ident, it->second, depth + 1, false);
}

// The hub of the calling thread, described on that thread.
std::string format_hub(HubImpl& hub, bool this_thread) {
    std::vector<GreenletBase*> greenlets{&hub.main_greenlet()};
    std::vector<GreenletBase*> live;
    for (GreenletBase* g = hub.live_head(); g; g = Runtime::record(*g).live_next) live.push_back(g);
    greenlets.insert(greenlets.end(), live.rbegin(), live.rend());  // the live list is newest first
    for (const auto& dead : hub.queued_notifications()) greenlets.push_back(dead.get());

    std::vector<Row> rows;
    rows.reserve(greenlets.size());
    for (GreenletBase* g : greenlets) rows.push_back(row_of(hub, *g));

    std::multimap<std::uint64_t, std::size_t> children;
    std::map<std::uint64_t, std::size_t> by_ident;
    for (std::size_t i = 0; i < rows.size(); ++i) by_ident.emplace(rows[i].ident, i);
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (rows[i].parent != rows[i].ident && by_ident.count(rows[i].parent)) children.emplace(rows[i].parent, i);

    std::string out =
        fmt::format("Hub of thread {}{}: {} live greenlets{}\n", ::gettid(), this_thread ? " (the calling thread)" : "",
                    hub.live_count(), this_thread && hub.in_hub() ? "; asked from a hub callback" : "");
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (!by_ident.count(rows[i].parent) || rows[i].parent == rows[i].ident)
            print_tree(out, rows, children, hub.hub_greenlet().minimal_ident(), i, 0, true);
    return out;
}

// One other hub's answer. `waiter` is touched only on the asking thread.
struct Reply {
    std::mutex mutex;
    std::condition_variable answered;
    bool done = false;  // guarded by mutex
    std::string text;   // guarded by mutex
    pid_t thread_id = 0;
    Waiter* waiter = nullptr;
};

bool ask(const detail::HubEntry& entry, const std::shared_ptr<Reply>& reply, std::shared_ptr<Hub::Remote> back) {
    return entry.remote->post([reply, back = std::move(back)] {
        std::string text = format_hub(*HubImpl::current(), false);
        {
            const std::lock_guard lock(reply->mutex);
            reply->text = std::move(text);
            reply->done = true;
        }
        reply->answered.notify_all();
        if (back)
            back->post([reply] {
                if (reply->waiter) reply->waiter->wake();
            });
    });
}

bool all_done(const std::vector<std::shared_ptr<Reply>>& replies) {
    return std::all_of(replies.begin(), replies.end(), [](const auto& r) {
        const std::lock_guard lock(r->mutex);
        return r->done;
    });
}

// Waits for the replies, cooperatively when on a greenlet, else blocking the thread.
void await(const std::vector<std::shared_ptr<Reply>>& replies, HubImpl* hub, Duration timeout) {
    if (hub) {
        Waiter w("run info of other threads", nullptr);
        for (const auto& r : replies) r->waiter = &w;
        struct Detach {
            const std::vector<std::shared_ptr<Reply>>& replies;
            ~Detach() {
                for (const auto& r : replies) r->waiter = nullptr;
            }
        } detach{replies};
        const Deadline deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(timeout);
        for (;;) {
            w.reset();
            if (all_done(replies) || !w.wait_until(deadline)) break;
        }
        return;
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::nanoseconds>(timeout);
    for (const auto& r : replies) {
        std::unique_lock lock(r->mutex);
        r->answered.wait_until(lock, deadline, [&] { return r->done; });
    }
}

std::string format_other_hubs(HubImpl* mine, Duration timeout) {
    std::vector<detail::HubEntry> others;
    {
        auto lock = detail::lock_hubs();
        for (const auto& e : detail::hubs_locked())
            if (e.hub != mine) others.push_back(e);
    }
    if (others.empty()) return {};
    if (mine && mine->in_hub())
        return fmt::format("{} other hubs not listed: run info was asked from inside a hub callback\n", others.size());
    std::vector<std::shared_ptr<Reply>> replies;
    std::string out;
    for (const auto& e : others) {
        auto reply = std::make_shared<Reply>();
        reply->thread_id = e.thread_id;
        if (ask(e, reply, mine ? mine->remote() : nullptr))
            replies.push_back(std::move(reply));
        else
            out += fmt::format("Hub of thread {}: destroyed while asked\n", e.thread_id);
    }
    await(replies, mine, timeout);
    for (const auto& r : replies) {
        const std::lock_guard lock(r->mutex);
        out += r->done ? r->text
                       : fmt::format(
                             "Hub of thread {}: did not answer within {} s (a greenlet or callback is blocking "
                             "it; the monitor thread can name it)\n",
                             r->thread_id, timeout.count());
    }
    return out;
}

}  // namespace

std::string format_run_info(Duration other_hubs_timeout) {
    HubImpl* mine = HubImpl::current();
    std::size_t hub_count;
    {
        auto lock = detail::lock_hubs();
        hub_count = detail::hubs_locked().size();
    }
    std::string out = fmt::format("grove run info: pid {}, {} hubs\n", ::getpid(), hub_count);
    if (mine) out += format_hub(*mine, true);
    out += format_other_hubs(mine, other_hubs_timeout);
    return out;
}

void print_run_info() {
    const std::string text = format_run_info();
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
}

}  // namespace grove::util
