// grove core — the public Hub API (<grove/hub.hpp>): thin calls into the
// thread's HubImpl (hub.cpp), its loop and its cross-thread inbox.
#include <grove/hub.hpp>

#include <mutex>

#include "loop.hpp"
#include "plain_calls.hpp"
#include "runtime.hpp"

namespace grove {

namespace detail {
thread_local bool t_plain_calls = false;
}  // namespace detail

using detail::HubImpl;

Hub::Hub() = default;
Hub::~Hub() = default;

struct ev_loop* Hub::loop() const noexcept {
    return const_cast<HubImpl*>(static_cast<const HubImpl*>(this))->event_loop().raw();
}
bool Hub::join(std::optional<Duration> timeout) { return static_cast<HubImpl*>(this)->join_impl(timeout); }
void Hub::destroy() { static_cast<HubImpl*>(this)->destroy_impl(); }
std::size_t Hub::live_count() const noexcept { return static_cast<const HubImpl*>(this)->live_count(); }
void Hub::set_compact_default(bool on) noexcept { static_cast<HubImpl*>(this)->set_compact_default(on); }
bool Hub::compact_default() const noexcept { return static_cast<const HubImpl*>(this)->compact_default(); }
void Hub::run_callback(std::function<void()> fn) { static_cast<HubImpl*>(this)->add_callback(std::move(fn)); }

bool Hub::Remote::post(std::function<void()> fn) {
    auto& self = static_cast<detail::RemoteImpl&>(*this);
    std::lock_guard<std::mutex> lock(self.mutex);
    if (!self.hub) return false;
    self.hub->post_from_thread(std::move(fn));
    return true;
}

Hub::KeepAlive::KeepAlive() : hub_(&get_hub()) { static_cast<HubImpl*>(hub_)->event_loop().hold(); }
Hub::KeepAlive::~KeepAlive() { static_cast<HubImpl*>(hub_)->event_loop().release(); }

Hub& get_hub() { return HubImpl::get(); }
Hub* get_hub_if_exists() noexcept { return HubImpl::current(); }

void reinit() {
    if (HubImpl* hub = HubImpl::current()) hub->event_loop().after_fork();
}

}  // namespace grove
