// grove-hooks benchmarks: the price of a hooked read()/write() (issue 18), and
// of readv()/writev() (BM_SocketReadv/Writev: the same 64 bytes in two pieces).
// One socket call that does not block (data ready / room to write), made
//   _Libc       through libc's own function (dlsym in libc.so.6: the plain,
//               unhooked call, in this same binary)
//   _Hooked     through the hooks, patched, from a greenlet (the cooperative path)
//   _Unpatched  through the hooks with patching off (the pass-through)
//   _LibcDontwait  libc's recv()/send() with MSG_DONTWAIT: the syscall the hook
//               itself makes, so hooked minus this is the hook's own cost
// Arg 0: an AF_UNIX stream socketpair; arg 1: a TCP connection on loopback.
// Reads take 64 bytes from a socket kept full; writes put 64 bytes into one
// kept drained. The refill and the drain run with the timer paused, through
// libc, every kBatch iterations.
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include <benchmark/benchmark.h>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/monkey.hpp>

#include "bench_util.hpp"

namespace {

using ReadFn = ssize_t (*)(int, void*, size_t);
using WriteFn = ssize_t (*)(int, const void*, size_t);
using RecvFn = ssize_t (*)(int, void*, size_t, int);
using SendFn = ssize_t (*)(int, const void*, size_t, int);
using VectorFn = ssize_t (*)(int, const iovec*, int);

struct Libc {
    ReadFn read;
    WriteFn write;
    RecvFn recv;
    SendFn send;
    VectorFn readv;
    VectorFn writev;
    Libc() {
        void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        read = reinterpret_cast<ReadFn>(dlsym(libc, "read"));
        write = reinterpret_cast<WriteFn>(dlsym(libc, "write"));
        recv = reinterpret_cast<RecvFn>(dlsym(libc, "recv"));
        send = reinterpret_cast<SendFn>(dlsym(libc, "send"));
        readv = reinterpret_cast<VectorFn>(dlsym(libc, "readv"));
        writev = reinterpret_cast<VectorFn>(dlsym(libc, "writev"));
        if (!read || !write || !recv || !send || !readv || !writev) {
            std::fprintf(stderr, "libc symbols not found\n");
            std::abort();
        }
    }
};
const Libc& libc() {
    static const Libc l;
    return l;
}

constexpr std::size_t kChunk = 64;
constexpr int kBatch = 100;  // reads per refill, writes per drain

void check(bool ok, const char* what) {
    if (!ok) {
        std::perror(what);
        std::abort();
    }
}

/// A connected pair of blocking sockets: [0] is read from, [1] written to.
struct Pair {
    int fd[2] = {-1, -1};
    explicit Pair(bool tcp) {
        if (!tcp) {
            check(socketpair(AF_UNIX, SOCK_STREAM, 0, fd) == 0, "socketpair");
            return;
        }
        const int l = socket(AF_INET, SOCK_STREAM, 0);
        check(l >= 0, "socket");
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        check(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(l, 1) == 0 &&
                  getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) == 0,
              "listen");
        fd[1] = socket(AF_INET, SOCK_STREAM, 0);
        check(connect(fd[1], reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "connect");
        fd[0] = accept(l, nullptr, nullptr);
        check(fd[0] >= 0, "accept");
        close(l);
        const int one = 1;
        setsockopt(fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~Pair() {
        close(fd[0]);
        close(fd[1]);
    }
    Pair(const Pair&) = delete;
    Pair& operator=(const Pair&) = delete;

    /// Puts n*kChunk bytes into fd[0]'s receive queue.
    void fill(int n) {
        static const std::vector<char> data(kChunk * kBatch, 'x');
        std::size_t left = kChunk * static_cast<std::size_t>(n);
        while (left) {
            const ssize_t r = libc().send(fd[1], data.data(), left, 0);
            check(r > 0, "fill");
            left -= static_cast<std::size_t>(r);
        }
    }
    /// Takes exactly n bytes out of fd[0].
    void drain(std::size_t n) {
        static std::vector<char> sink(kChunk * kBatch);
        while (n) {
            const ssize_t r = libc().recv(fd[0], sink.data(), n, 0);
            check(r > 0, "drain");
            n -= static_cast<std::size_t>(r);
        }
    }
};

enum class Mode { Libc, LibcDontwait, Hooked, Unpatched };

/// Runs `body(state)` as the mode asks: on the main thread, or in a greenlet
/// with the hooks patched or not.
template <class Body>
void run(benchmark::State& state, Mode mode, Body body) {
    if (mode == Mode::Libc || mode == Mode::LibcDontwait) {
        body(state);
    } else {
        if (mode == Mode::Hooked) grove::monkey::patch_all();
        auto g = grove::spawn([&] { body(state); });
        g->join();
        grove::monkey::unpatch_all();
    }
    grove_bench::report_ops(state, 1);
}

void socket_read(benchmark::State& state, Mode mode, bool vectored = false) {
    Pair p(state.range(0) != 0);
    const ReadFn rd = mode == Mode::Libc ? libc().read : &::read;
    const VectorFn rdv = mode == Mode::Libc ? libc().readv : &::readv;
    const RecvFn rcv = mode == Mode::LibcDontwait ? libc().recv : nullptr;
    char buf[kChunk];
    const iovec halves[2] = {{buf, kChunk / 2}, {buf + kChunk / 2, kChunk / 2}};
    run(state, mode, [&](benchmark::State& st) {
        int left = 0;
        for (auto _ : st) {
            if (left == 0) {
                st.PauseTiming();
                p.fill(kBatch);
                left = kBatch;
                st.ResumeTiming();
            }
            // The stream may hand back a short read at a segment edge: count bytes, not calls.
            const ssize_t r = rcv        ? rcv(p.fd[0], buf, kChunk, MSG_DONTWAIT)
                              : vectored ? rdv(p.fd[0], halves, 2)
                                         : rd(p.fd[0], buf, kChunk);
            if (r != static_cast<ssize_t>(kChunk)) {
                if (r <= 0) {
                    st.SkipWithError("read failed");
                    break;
                }
                p.drain(kChunk - static_cast<std::size_t>(r));
            }
            --left;
            benchmark::DoNotOptimize(buf);
        }
    });
}

void socket_write(benchmark::State& state, Mode mode, bool vectored = false) {
    Pair p(state.range(0) != 0);
    const WriteFn wr = mode == Mode::Libc ? libc().write : &::write;
    const VectorFn wrv = mode == Mode::Libc ? libc().writev : &::writev;
    const SendFn snd = mode == Mode::LibcDontwait ? libc().send : nullptr;
    char buf[kChunk] = {};
    const iovec halves[2] = {{buf, kChunk / 2}, {buf + kChunk / 2, kChunk / 2}};
    run(state, mode, [&](benchmark::State& st) {
        int done = 0;
        for (auto _ : st) {
            if (done == kBatch) {
                st.PauseTiming();
                p.drain(kChunk * kBatch);
                done = 0;
                st.ResumeTiming();
            }
            const ssize_t r = snd        ? snd(p.fd[1], buf, kChunk, MSG_DONTWAIT)
                              : vectored ? wrv(p.fd[1], halves, 2)
                                         : wr(p.fd[1], buf, kChunk);
            if (r != static_cast<ssize_t>(kChunk)) {
                st.SkipWithError("write failed");
                break;
            }
            ++done;
        }
        p.drain(kChunk * static_cast<std::size_t>(done));
    });
}

void BM_SocketRead_Libc(benchmark::State& s) { socket_read(s, Mode::Libc); }
void BM_SocketRead_LibcDontwait(benchmark::State& s) { socket_read(s, Mode::LibcDontwait); }
void BM_SocketRead_Hooked(benchmark::State& s) { socket_read(s, Mode::Hooked); }
void BM_SocketRead_Unpatched(benchmark::State& s) { socket_read(s, Mode::Unpatched); }
void BM_SocketWrite_Libc(benchmark::State& s) { socket_write(s, Mode::Libc); }
void BM_SocketWrite_LibcDontwait(benchmark::State& s) { socket_write(s, Mode::LibcDontwait); }
void BM_SocketWrite_Hooked(benchmark::State& s) { socket_write(s, Mode::Hooked); }
void BM_SocketWrite_Unpatched(benchmark::State& s) { socket_write(s, Mode::Unpatched); }

void BM_SocketReadv_Libc(benchmark::State& s) { socket_read(s, Mode::Libc, true); }
void BM_SocketReadv_Hooked(benchmark::State& s) { socket_read(s, Mode::Hooked, true); }
void BM_SocketWritev_Libc(benchmark::State& s) { socket_write(s, Mode::Libc, true); }
void BM_SocketWritev_Hooked(benchmark::State& s) { socket_write(s, Mode::Hooked, true); }

BENCHMARK(BM_SocketRead_Libc)->Arg(0)->Arg(1);
BENCHMARK(BM_SocketRead_LibcDontwait)->Arg(0)->Arg(1);
BENCHMARK(BM_SocketRead_Hooked)->Arg(0)->Arg(1);
BENCHMARK(BM_SocketRead_Unpatched)->Arg(0)->Arg(1);
BENCHMARK(BM_SocketWrite_Libc)->Arg(0)->Arg(1);
BENCHMARK(BM_SocketWrite_LibcDontwait)->Arg(0)->Arg(1);
BENCHMARK(BM_SocketWrite_Hooked)->Arg(0)->Arg(1);
BENCHMARK(BM_SocketWrite_Unpatched)->Arg(0)->Arg(1);
BENCHMARK(BM_SocketReadv_Libc)->Arg(0)->Arg(1);
BENCHMARK(BM_SocketReadv_Hooked)->Arg(0)->Arg(1);
BENCHMARK(BM_SocketWritev_Libc)->Arg(0)->Arg(1);
BENCHMARK(BM_SocketWritev_Hooked)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
