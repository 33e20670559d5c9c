// grove internal — StreamServer: acceptor greenlet, handler bookkeeping, stop.
//
// State is shared (shared_ptr) between the server object, its acceptor and
// the death links of its handlers, so neither outlives what it touches:
//   acceptor   runs accept_loop(state); state->acceptor is its Ref until stop()
//   handlers   state->handlers[id] holds each handler's Ref (and the handler's
//              body holds the state); a link on the greenlet erases the entry
//              when it dies, breaking that cycle (also when it was killed
//              before it ever ran, which a scope guard inside it would miss).
#include <grove/io/server.hpp>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <grove/greenlet.hpp>

#include "serving.hpp"

namespace grove {

struct StreamServer::State {
    Handler handler;
    Spawner* spawner = nullptr;
    Address address;
    Socket listener;
    int backlog = 1024;
    bool reuse_port = false;
    bool started = false;
    bool stopping = false;
    Ref<GreenletBase> acceptor;
    detail::Handlers handlers;
    std::uint64_t next_id = 0;
};

namespace {

bool out_of_resources(int err) { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }

bool connection_gone(int err) { return err == ECONNABORTED || err == EPROTO || err == EPERM || err == EINTR; }

}  // namespace

void StreamServer::accept_loop(std::shared_ptr<State> s) {
    detail::IntakeBackoff backoff;
    for (;;) {
        Address peer;
        Socket client;
        try {
            client = s->listener.accept(&peer);
        } catch (const std::system_error& e) {
            const int err = e.code().value();
            if (s->stopping && err == EBADF) return;
            if (connection_gone(err)) continue;
            if (!out_of_resources(err)) throw;
            backoff.wait("StreamServer", s->address, "accept", err);
            continue;
        }
        backoff.reset();
        spawn_handler(s, std::move(client), peer);
    }
}

void StreamServer::spawn_handler(const std::shared_ptr<State>& s, Socket client, const Address& peer) {
    // std::function needs a copyable callable: the socket travels in a shared_ptr.
    auto conn = std::make_shared<Socket>(std::move(client));
    auto body = [conn, peer, s] {
        Socket sock = std::move(*conn);
        s->handler(sock, peer);
    };
    detail::spawn_tracked_handler(s, std::move(body));
}

StreamServer::StreamServer(Address address, Handler handler, Spawner* spawner) : state_(std::make_shared<State>()) {
    if (!handler) throw std::invalid_argument("grove::StreamServer: empty handler");
    state_->handler = std::move(handler);
    state_->spawner = spawner;
    state_->address = address;
}

StreamServer::StreamServer(Socket listener, Handler handler, Spawner* spawner)
    : StreamServer(listener.getsockname(), std::move(handler), spawner) {
    state_->listener = std::move(listener);
}

StreamServer::~StreamServer() {
    if (!state_->started || state_->stopping) return;
    try {
        stop(Duration::zero());
    } catch (...) {
        std::fputs("grove: StreamServer: error while stopping in the destructor\n", stderr);
    }
}

void StreamServer::set_backlog(int backlog) { state_->backlog = backlog; }
void StreamServer::set_reuse_port(bool on) { state_->reuse_port = on; }

void StreamServer::start() {
    State& s = *state_;
    if (s.stopping) throw std::logic_error("grove::StreamServer::start: the server was stopped");
    if (s.started) return;
    if (!s.listener) {
        Socket l(s.address.family(), SOCK_STREAM);
        if (s.address.family() != AF_UNIX) l.set_reuseaddr();
        if (s.reuse_port) l.set_reuseport();
        l.bind(s.address);
        s.listener = std::move(l);
    }
    s.listener.listen(s.backlog);
    s.address = s.listener.getsockname();
    s.acceptor = grove::spawn(accept_loop, state_);
    s.started = true;
}

void StreamServer::serve_forever() {
    start();
    detail::serve_until_done(state_->acceptor, [this] { stop(); });
}

void StreamServer::stop(std::optional<Duration> timeout) {
    auto keep = state_;  // a handler may destroy the server while we wait
    State& s = *keep;
    s.stopping = true;
    detail::stop_intake_and_handlers(
        std::move(s.acceptor), [&s] { s.listener.close(); }, s.handlers, timeout);
}

bool StreamServer::started() const noexcept { return state_->started; }
bool StreamServer::closed() const noexcept { return !state_->listener; }
Address StreamServer::address() const { return state_->address; }
std::size_t StreamServer::connection_count() const noexcept { return state_->handlers.size(); }

}  // namespace grove
