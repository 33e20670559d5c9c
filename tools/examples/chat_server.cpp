// chat_server — a line-based chat: every line a client sends goes to every
// other client. A StreamServer gives each connection a greenlet; each client
// has its own Queue of lines to send, drained by a writer greenlet, so one
// slow client never holds up the broadcast.
//
//   chat_server [--port 0]        then: nc 127.0.0.1 PORT
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include <grove/grove.hpp>

namespace {

struct Client {
    std::string name;
    grove::Queue<std::string> outbox{100};  // bounded: lines for a client that stopped reading are dropped
};

std::map<Client*, std::shared_ptr<Client>> g_clients;

void broadcast(const Client* from, const std::string& line) {
    for (auto& [_, client] : g_clients)
        if (client.get() != from && !client->outbox.full()) client->outbox.put(from->name + ": " + line);
}

void serve(grove::Socket& conn, const grove::Address& peer) {
    auto me = std::make_shared<Client>();
    me->name = peer.str();
    g_clients[me.get()] = me;
    auto writer = grove::spawn([&conn, me] {
        for (const std::string& line : me->outbox) conn.sendall(line);  // until shutdown()
    });
    broadcast(me.get(), "joined\n");
    std::string pending;
    for (std::string data; !(data = conn.recv(4096)).empty();) {
        pending += data;
        for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1))
            broadcast(me.get(), pending.substr(0, nl + 1));
    }
    g_clients.erase(me.get());
    broadcast(me.get(), "left\n");
    me->outbox.shutdown();
    writer->join();
}

}  // namespace

int main(int argc, char** argv) {
    const int port = argc == 3 && !std::strcmp(argv[1], "--port") ? std::atoi(argv[2]) : 0;
    grove::StreamServer server(grove::Address::ip("127.0.0.1", static_cast<std::uint16_t>(port)), serve);
    server.start();
    std::printf("listening on %s\n", server.address().str().c_str());
    std::fflush(stdout);
    server.serve_forever();
}
