// grove internal — signal_handler(): a signal watcher on the loop (never
// keeping it alive) that spawns.
#include <grove/io/signal.hpp>

#include <csignal>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include <grove/greenlet.hpp>

#include "../core/runtime.hpp"

namespace grove {

struct SignalHandler::Impl {
    std::function<void()> f;
    std::optional<detail::SignalWatch> watch;

    // From the hub: spawn never switches, so this never blocks the loop.
    static void fired(void* data) noexcept {
        auto* self = static_cast<Impl*>(data);
        try {
            grove::spawn(self->f);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "grove: signal %d: cannot spawn its handler: %s\n", self->watch->signum(), e.what());
        }
    }
};

SignalHandler::SignalHandler(int signum, std::function<void()> f) : impl_(std::make_unique<Impl>()) {
    if (signum <= 0 || signum >= NSIG) throw std::invalid_argument("grove::signal_handler: bad signal number");
    if (!f) throw std::invalid_argument("grove::signal_handler: empty handler");
    impl_->f = std::move(f);
    impl_->watch.emplace(detail::HubImpl::get().event_loop(), signum, &Impl::fired, impl_.get());
}

SignalHandler::~SignalHandler() = default;

int SignalHandler::signum() const noexcept { return impl_->watch->signum(); }

std::unique_ptr<SignalHandler> signal_handler(int signum, std::function<void()> f) {
    return std::make_unique<SignalHandler>(signum, std::move(f));
}

}  // namespace grove
