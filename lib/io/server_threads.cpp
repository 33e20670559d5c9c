// grove internal — ServerThreads: N threads × (hub + StreamServer) on one port.
#include <grove/io/server_threads.hpp>

#include <stdexcept>

#include "worker_threads.hpp"

namespace grove {

std::vector<Socket> reuseport_listeners(const Address& address, std::size_t n, int backlog) {
    return detail::reuseport_sockets(address, n, SOCK_STREAM, [backlog](Socket& s) { s.listen(backlog); });
}

struct ServerThreads::Worker : detail::ServerWorker<StreamServer> {
    void run(StreamServer::Handler handler) {
        serve("ServerThreads", [&] { return StreamServer(std::move(socket), std::move(handler)); });
    }
};

ServerThreads::ServerThreads(Address address, std::size_t threads, StreamServer::Handler handler)
    : address_(address), threads_(threads), handler_(std::move(handler)) {
    if (threads == 0) throw std::invalid_argument("grove::ServerThreads: zero threads");
}

ServerThreads::~ServerThreads() { stop(Duration::zero()); }

void ServerThreads::start() {
    if (!workers_.empty()) return;
    auto listeners = reuseport_listeners(address_, threads_);
    address_ = listeners.front().getsockname();
    for (auto& l : listeners) {
        auto w = std::make_unique<Worker>();
        w->socket = std::move(l);
        workers_.push_back(std::move(w));
    }
    detail::start_worker_threads(workers_, handler_, [this] { stop(Duration::zero()); });
}

void ServerThreads::stop(std::optional<Duration> timeout) { detail::stop_worker_threads(workers_, timeout); }

}  // namespace grove
