// grove benchmarks — fd readiness: wait_read() over a socketpair ping-pong,
// against the same ping-pong written with raw libev ev_io callbacks (the
// baseline, same binary, same loop backend).
//
// One iteration = one round trip: 1 byte a→b, 1 byte b→a (2 writes, 2 reads,
// 2 readiness notifications).
#include <cerrno>
#include <cstdlib>

#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include <grove/greenlet.hpp>
#include <grove/io/wait.hpp>

#include "bench_util.hpp"

namespace {

struct SocketPair {
    SocketPair() {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) != 0) std::abort();
    }
    ~SocketPair() {
        close(fd[0]);
        close(fd[1]);
    }
    int fd[2];
};

void put(int fd) {
    char c = 'x';
    while (write(fd, &c, 1) != 1)
        if (errno != EINTR) std::abort();
}

bool take(int fd) {
    char c;
    const ssize_t r = read(fd, &c, 1);
    if (r == 1) return true;
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    std::abort();
}

// --- baseline: raw libev, both ends as persistent ev_io watchers --------------------

struct RawPingPong {
    ev_io a;
    ev_io b;
    bool answered = false;
};

void raw_b_cb(struct ev_loop*, ev_io* w, int) {
    if (take(w->fd)) put(w->fd);
}

void raw_a_cb(struct ev_loop*, ev_io* w, int) {
    if (take(w->fd)) static_cast<RawPingPong*>(w->data)->answered = true;
}

void BM_RawLibevPingPong(benchmark::State& state) {
    SocketPair sp;
    struct ev_loop* loop = ev_loop_new(EVFLAG_AUTO);
    RawPingPong pp;
    ev_io_init(&pp.a, &raw_a_cb, sp.fd[0], EV_READ);
    ev_io_init(&pp.b, &raw_b_cb, sp.fd[1], EV_READ);
    pp.a.data = pp.b.data = &pp;
    ev_io_start(loop, &pp.a);
    ev_io_start(loop, &pp.b);
    for (auto _ : state) {
        pp.answered = false;
        put(sp.fd[0]);
        while (!pp.answered) ev_run(loop, EVRUN_ONCE);
    }
    ev_io_stop(loop, &pp.a);
    ev_io_stop(loop, &pp.b);
    ev_loop_destroy(loop);
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_RawLibevPingPong);

// --- grove: main and a partner greenlet, each blocking in wait_read -----------------

void BM_GroveWaitReadPingPong(benchmark::State& state) {
    SocketPair sp;
    bool stop = false;
    auto partner = grove::spawn([&] {
        for (;;) {
            while (!take(sp.fd[1])) grove::wait_read(sp.fd[1]);
            if (stop) break;
            put(sp.fd[1]);
        }
    });
    grove::sleep();
    for (auto _ : state) {
        put(sp.fd[0]);
        do grove::wait_read(sp.fd[0]);
        while (!take(sp.fd[0]));
    }
    stop = true;
    put(sp.fd[0]);
    partner->join();
    grove_bench::report_ops(state, 1);
}
BENCHMARK(BM_GroveWaitReadPingPong);

}  // namespace

BENCHMARK_MAIN();
