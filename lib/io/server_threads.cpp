// grove internal — ServerThreads: N threads × (hub + StreamServer) on one port.
//
// Each Worker is written by start() before its thread runs, then by its own
// thread only (server, stopper), except `remote`, which is published through
// the `ready` promise before start() returns and read by stop().
#include <grove/io/server_threads.hpp>

#include <cstdio>
#include <exception>
#include <future>
#include <stdexcept>
#include <thread>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "worker_threads.hpp"

namespace grove {

std::vector<Socket> reuseport_listeners(const Address& address, std::size_t n, int backlog) {
    std::vector<Socket> out;
    Address bound = address;
    for (std::size_t i = 0; i < n; ++i) {
        Socket s(address.family(), SOCK_STREAM);
        s.set_reuseaddr();
        s.set_reuseport();
        s.bind(bound);
        s.listen(backlog);
        if (i == 0) bound = s.getsockname();  // port 0 → the port the kernel chose
        out.push_back(std::move(s));
    }
    return out;
}

struct ServerThreads::Worker {
    Socket listener;
    std::thread thread;
    std::promise<void> ready;
    std::shared_ptr<Hub::Remote> remote;  // set before `ready`
    StreamServer* server = nullptr;       // the thread's own
    Ref<GreenletBase> stopper;            // the thread's own

    void run(StreamServer::Handler handler) {
        try {
            StreamServer server(std::move(listener), std::move(handler));
            server.start();
            this->server = &server;
            remote = get_hub().remote();
            ready.set_value();
            server.serve_forever();
            if (stopper) stopper->join();
        } catch (...) {
            try {
                ready.set_exception(std::current_exception());
            } catch (const std::future_error&) {  // already serving: report it
                std::fputs("grove: ServerThreads: a server thread failed\n", stderr);
            }
        }
        get_hub().destroy();
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
        w->listener = std::move(l);
        workers_.push_back(std::move(w));
    }
    detail::start_worker_threads(workers_, handler_, [this] { stop(Duration::zero()); });
}

void ServerThreads::stop(std::optional<Duration> timeout) { detail::stop_worker_threads(workers_, timeout); }

}  // namespace grove
