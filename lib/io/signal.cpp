// grove internal — signal_handler(): an unreferenced ev_signal that spawns.
#include <grove/io/signal.hpp>

#include <csignal>
#include <stdexcept>

#include <ev.h>

#include <grove/greenlet.hpp>

namespace grove {

struct SignalHandler::Impl {
    ev_signal watcher{};
    struct ev_loop* loop = nullptr;
    std::function<void()> f;

    // From the hub: spawn never switches, so this never blocks the loop.
    static void fired(struct ev_loop*, ev_signal* w, int) {
        auto* self = static_cast<Impl*>(w->data);
        grove::spawn(self->f);
    }
};

SignalHandler::SignalHandler(int signum, std::function<void()> f) : impl_(std::make_unique<Impl>()) {
    if (signum <= 0 || signum >= NSIG) throw std::invalid_argument("grove::signal_handler: bad signal number");
    if (!f) throw std::invalid_argument("grove::signal_handler: empty handler");
    impl_->f = std::move(f);
    impl_->loop = get_hub().loop();
    ev_signal_init(&impl_->watcher, &Impl::fired, signum);
    impl_->watcher.data = impl_.get();
    ev_signal_start(impl_->loop, &impl_->watcher);
    ev_unref(impl_->loop);  // a handler alone never keeps the hub alive
}

SignalHandler::~SignalHandler() {
    ev_ref(impl_->loop);
    ev_signal_stop(impl_->loop, &impl_->watcher);
}

int SignalHandler::signum() const noexcept { return impl_->watcher.signum; }

std::unique_ptr<SignalHandler> signal_handler(int signum, std::function<void()> f) {
    return std::make_unique<SignalHandler>(signum, std::move(f));
}

}  // namespace grove
