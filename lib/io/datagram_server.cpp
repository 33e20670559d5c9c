// grove internal — DatagramServer: receiver greenlet, handler bookkeeping,
// stop; DatagramServerThreads: N threads × (hub + DatagramServer) on one port.
//
// Ownership follows StreamServer (lib/io/server.cpp): State is shared by the
// server object, its receiver and the death links of its handlers;
//   receiver   runs receive_loop(state); state->receiver is its Ref until stop()
//   handlers   state->handlers[id] holds each handler's Ref; a link on the
//              greenlet erases the entry when it dies (killed before it ran too).
#include <grove/io/datagram_server.hpp>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "worker_threads.hpp"
#include "serving.hpp"

namespace grove {

struct DatagramServer::State {
    Handler handler;
    Spawner* spawner = nullptr;
    Address address;
    Socket socket;
    std::size_t max_datagram = 65535;
    bool reuse_port = false;
    bool started = false;
    bool stopping = false;
    Ref<GreenletBase> receiver;
    detail::Handlers handlers;
    std::uint64_t next_id = 0;
};

namespace {

bool out_of_resources(int err) { return err == ENOMEM || err == ENOBUFS; }

// A datagram that is gone, or an ICMP error of an earlier reply surfacing on
// the socket: nothing to serve, keep receiving.
bool datagram_gone(int err) { return err == EINTR || err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH; }

}  // namespace

void DatagramServer::receive_loop(std::shared_ptr<State> s) {
    std::string buf(s->max_datagram, '\0');
    detail::IntakeBackoff backoff;
    for (;;) {
        Address from;
        std::size_t n;
        try {
            n = s->socket.recvfrom_into(buf.data(), buf.size(), &from);
        } catch (const std::system_error& e) {
            const int err = e.code().value();
            if (s->stopping && err == EBADF) return;
            if (datagram_gone(err)) continue;
            if (!out_of_resources(err)) throw;
            backoff.wait("DatagramServer", s->address, "recvfrom", err);
            continue;
        }
        backoff.reset();
        spawn_handler(s, std::string(buf.data(), n), from);
    }
}

void DatagramServer::spawn_handler(const std::shared_ptr<State>& s, std::string data, const Address& from) {
    detail::spawn_tracked_handler(s, [data = std::move(data), from, s] { s->handler(data, from); });
}

DatagramServer::DatagramServer(Address address, Handler handler, Spawner* spawner) : state_(std::make_shared<State>()) {
    if (!handler) throw std::invalid_argument("grove::DatagramServer: empty handler");
    state_->handler = std::move(handler);
    state_->spawner = spawner;
    state_->address = address;
}

DatagramServer::DatagramServer(Socket socket, Handler handler, Spawner* spawner)
    : DatagramServer(socket.getsockname(), std::move(handler), spawner) {
    if (socket.type() != SOCK_DGRAM)
        throw std::invalid_argument("grove::DatagramServer: the socket is not a SOCK_DGRAM socket");
    state_->socket = std::move(socket);
}

DatagramServer::~DatagramServer() {
    if (!state_->started || state_->stopping) return;
    try {
        stop(Duration::zero());
    } catch (...) {
        std::fputs("grove: DatagramServer: error while stopping in the destructor\n", stderr);
    }
}

void DatagramServer::set_reuse_port(bool on) { state_->reuse_port = on; }

void DatagramServer::set_max_datagram(std::size_t bytes) {
    if (bytes == 0) throw std::invalid_argument("grove::DatagramServer::set_max_datagram: zero bytes");
    state_->max_datagram = bytes;
}

void DatagramServer::start() {
    State& s = *state_;
    if (s.stopping) throw std::logic_error("grove::DatagramServer::start: the server was stopped");
    if (s.started) return;
    if (!s.socket) {
        Socket sock(s.address.family(), SOCK_DGRAM);
        sock.set_reuseaddr();
        if (s.reuse_port) sock.set_reuseport();
        sock.bind(s.address);
        s.socket = std::move(sock);
    }
    s.address = s.socket.getsockname();
    s.receiver = grove::spawn(receive_loop, state_);
    s.started = true;
}

void DatagramServer::serve_forever() {
    start();
    detail::serve_until_done(state_->receiver, [this] { stop(); });
}

void DatagramServer::stop(std::optional<Duration> timeout) {
    auto keep = state_;  // a handler may destroy the server while we wait
    State& s = *keep;
    s.stopping = true;
    detail::stop_intake_and_handlers(
        std::move(s.receiver), [&s] { s.socket.close(); }, s.handlers, timeout);
}

std::size_t DatagramServer::sendto(std::string_view data, const Address& to) { return state_->socket.sendto(data, to); }

bool DatagramServer::started() const noexcept { return state_->started; }
bool DatagramServer::closed() const noexcept { return !state_->socket; }
Address DatagramServer::address() const { return state_->address; }
std::size_t DatagramServer::handler_count() const noexcept { return state_->handlers.size(); }

// --- DatagramServerThreads ---------------------------------------------------

std::vector<Socket> reuseport_datagram_sockets(const Address& address, std::size_t n) {
    return detail::reuseport_sockets(address, n, SOCK_DGRAM, [](Socket&) {});
}

struct DatagramServerThreads::Worker : detail::ServerWorker<DatagramServer> {
    void run(Handler handler) {
        // `server` is set before the thread serves, so before any handler runs.
        serve("DatagramServerThreads", [&] {
            return DatagramServer(std::move(socket),
                                  [handler = std::move(handler), this](const std::string& data, const Address& from) {
                                      handler(*server, data, from);
                                  });
        });
    }
};

DatagramServerThreads::DatagramServerThreads(Address address, std::size_t threads, Handler handler)
    : address_(address), threads_(threads), handler_(std::move(handler)) {
    if (threads == 0) throw std::invalid_argument("grove::DatagramServerThreads: zero threads");
    if (!handler_) throw std::invalid_argument("grove::DatagramServerThreads: empty handler");
}

DatagramServerThreads::~DatagramServerThreads() { stop(Duration::zero()); }

void DatagramServerThreads::start() {
    if (!workers_.empty()) return;
    auto sockets = reuseport_datagram_sockets(address_, threads_);
    address_ = sockets.front().getsockname();
    for (auto& s : sockets) {
        auto w = std::make_unique<Worker>();
        w->socket = std::move(s);
        workers_.push_back(std::move(w));
    }
    detail::start_worker_threads(workers_, handler_, [this] { stop(Duration::zero()); });
}

void DatagramServerThreads::stop(std::optional<Duration> timeout) { detail::stop_worker_threads(workers_, timeout); }

}  // namespace grove
