// raw_libev_echo — the baseline for the echo benchmark: the same server
// written directly on libev callbacks (no greenlets, no grove), one loop per
// thread on SO_REUSEPORT listeners. Same command line and first line as
// echo_server, so bench scripts and loadgen treat both alike.
//
//   raw_libev_echo [--host 127.0.0.1] [--port 0] [--threads 1]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <ev.h>

namespace {

[[noreturn]] void fail(const char* what) {
    std::perror(what);
    std::exit(1);
}

struct Conn {
    ev_io io;             // first member: the watcher pointer is the Conn pointer
    std::string pending;  // echo bytes the socket would not take yet
};

struct Worker {
    struct ev_loop* loop = nullptr;
    int listen_fd = -1;
    ev_io accept_io{};
    ev_async stop{};
    std::unordered_set<Conn*> conns;
    std::thread thread;
};

void close_conn(Worker& w, Conn* c) {
    ev_io_stop(w.loop, &c->io);
    ::close(c->io.fd);
    w.conns.erase(c);
    delete c;
}

void rearm(Worker& w, Conn* c, int events) {
    ev_io_stop(w.loop, &c->io);
    ev_io_set(&c->io, c->io.fd, events);
    ev_io_start(w.loop, &c->io);
}

void conn_cb(struct ev_loop* loop, ev_io* io, int revents) {
    auto& w = *static_cast<Worker*>(ev_userdata(loop));
    auto* c = reinterpret_cast<Conn*>(io);
    if (revents & EV_WRITE) {
        const ssize_t m = ::send(io->fd, c->pending.data(), c->pending.size(), MSG_NOSIGNAL);
        if (m < 0 && errno != EAGAIN && errno != EINTR) return close_conn(w, c);
        if (m > 0) c->pending.erase(0, static_cast<std::size_t>(m));
        if (c->pending.empty()) rearm(w, c, EV_READ);
        return;
    }
    char buf[65536];
    const ssize_t n = ::recv(io->fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return close_conn(w, c);
    if (n < 0) return;
    ssize_t m = ::send(io->fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
    if (m < 0 && errno != EAGAIN && errno != EINTR) return close_conn(w, c);
    if (m < 0) m = 0;
    if (m < n) {
        c->pending.assign(buf + m, static_cast<std::size_t>(n - m));
        rearm(w, c, EV_WRITE);
    }
}

void accept_cb(struct ev_loop* loop, ev_io* io, int) {
    auto& w = *static_cast<Worker*>(ev_userdata(loop));
    const int fd = ::accept4(io->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, aborted, or out of fds: try again on the next event
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto* c = new Conn;
    ev_io_init(&c->io, conn_cb, fd, EV_READ);
    ev_io_start(loop, &c->io);
    w.conns.insert(c);
}

void stop_cb(struct ev_loop* loop, ev_async*, int) { ev_break(loop, EVBREAK_ALL); }

void run(Worker& w) {
    ev_run(w.loop, 0);
    while (!w.conns.empty()) close_conn(w, *w.conns.begin());
    ev_io_stop(w.loop, &w.accept_io);
    ev_async_stop(w.loop, &w.stop);
    ::close(w.listen_fd);
    ev_loop_destroy(w.loop);
}

int listen_on(const sockaddr_in& addr) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) fail("bind");
    if (::listen(fd, 1024) < 0) fail("listen");
    return fd;
}

void sig_cb(struct ev_loop* loop, ev_signal*, int) { ev_break(loop, EVBREAK_ALL); }

}  // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    int port = 0;
    int threads = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--host")
            host = argv[i + 1];
        else if (k == "--port")
            port = std::atoi(argv[i + 1]);
        else if (k == "--threads")
            threads = std::max(1, std::atoi(argv[i + 1]));
        else {
            std::fputs("usage: raw_libev_echo [--host 127.0.0.1] [--port 0] [--threads 1] (IPv4 only)\n", stderr);
            return 2;
        }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) fail("inet_pton (--host must be numeric IPv4)");

    struct ev_loop* main_loop = ev_default_loop(0);
    ev_signal term, intr;
    ev_signal_init(&term, sig_cb, SIGTERM);
    ev_signal_init(&intr, sig_cb, SIGINT);
    ev_signal_start(main_loop, &term);
    ev_signal_start(main_loop, &intr);

    std::vector<Worker> workers(static_cast<std::size_t>(threads));
    for (auto& w : workers) {
        w.listen_fd = listen_on(addr);
        if (addr.sin_port == 0) {  // port 0: the others join the port the first got
            socklen_t len = sizeof addr;
            ::getsockname(w.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
        }
        w.loop = ev_loop_new(EVFLAG_AUTO);
        ev_set_userdata(w.loop, &w);
        ev_io_init(&w.accept_io, accept_cb, w.listen_fd, EV_READ);
        ev_io_start(w.loop, &w.accept_io);
        ev_async_init(&w.stop, stop_cb);
        ev_async_start(w.loop, &w.stop);
    }
    for (auto& w : workers) w.thread = std::thread(run, std::ref(w));
    std::printf("listening on %s:%d\n", host.c_str(), ntohs(addr.sin_port));
    std::fflush(stdout);

    ev_run(main_loop, 0);  // until SIGTERM / SIGINT
    for (auto& w : workers) ev_async_send(w.loop, &w.stop);
    for (auto& w : workers) w.thread.join();
    return 0;
}
