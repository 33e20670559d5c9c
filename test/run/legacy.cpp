// A plain program, never linked with grove: test/run/run_test.sh runs each
// mode plainly and under grove-run and requires the same output (issue 21).
// Only libc, as a legacy C program would use it.
//
//   where           which library defines nanosleep (the launcher test)
//   hub             whether an epoll fd (a hub's loop) exists before and after usleep()
//   close-in-handler   close() in a SIGALRM handler firing every 20 us while the
//                   main code closes another fd of the same (former) stripe
//   fork-close      5,000 forks while a thread loops on close()
//   wrong-end       write() on a pipe's read end, read() on its write end
//   eintr           read/poll/select/accept/recv interrupted with and without
//                   SA_RESTART; nanosleep's remaining time
//   cloexec         the fds an exec'd child sees after the hub, pool and
//                   signal machinery were used
//   count-fds       (the child of cloexec) prints its open fds
//   green-threads   pthread_create/join/exit/self/equal/getattr_np and keys
//                   (run under grove-run --green-threads too)
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

int count_fds(const char* kind) {
    DIR* d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    const int self = dirfd(d);
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
        if (!kind) {
            ++n;
            continue;
        }
        char path[300], target[256];
        std::snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        const ssize_t len = readlink(path, target, sizeof target - 1);
        if (len > 0) {
            target[len] = '\0';
            if (std::strstr(target, kind)) ++n;
        }
    }
    closedir(d);
    return n;
}

int where() {
    Dl_info info{};
    void* sym = dlsym(RTLD_DEFAULT, "nanosleep");
    if (!sym || !dladdr(sym, &info) || !info.dli_fname) return 1;
    const char* base = std::strrchr(info.dli_fname, '/');
    std::printf("nanosleep from %s\n", base ? base + 1 : info.dli_fname);
    return 0;
}

int hub() {
    std::printf("epoll fds before: %d\n", count_fds("eventpoll"));
    usleep(1000);
    std::printf("epoll fds after usleep: %d\n", count_fds("eventpoll"));
    return 0;
}

// --- close() in a signal handler -------------------------------------------

int g_src = -1;
std::atomic<long> g_handled{0};

void close_in_handler(int) {
    // fd 164 shared a stripe (164 % 64 == 100 % 64) with the main code's fd 100.
    if (dup2(g_src, 164) == 164) close(164);
    g_handled.fetch_add(1, std::memory_order_relaxed);
}

int close_in_handler_mode() {
    int p[2];
    if (pipe(p) != 0) return 1;
    g_src = p[0];
    struct sigaction sa {};
    sa.sa_handler = close_in_handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, nullptr);
    itimerval every{{0, 20}, {0, 20}};
    setitimer(ITIMER_REAL, &every, nullptr);
    long rounds = 0;
    // Until the handler ran often enough to have hit the main code inside close().
    while (g_handled.load(std::memory_order_relaxed) < 20000 && rounds < 50000000) {
        if (dup2(p[1], 100) == 100) close(100);
        ++rounds;
    }
    itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
    std::printf("close in handler: %s\n", g_handled.load() >= 20000 ? "done" : "too few signals");
    return 0;
}

// --- fork while another thread closes ---------------------------------------

std::atomic<bool> g_stop{false};

void* closer(void* arg) {
    const int src = *static_cast<int*>(arg);
    while (!g_stop.load(std::memory_order_relaxed))
        if (dup2(src, 77) == 77) close(77);
    return nullptr;
}

int fork_close() {
    int p[2];
    if (pipe(p) != 0) return 1;
    pthread_t t;
    pthread_create(&t, nullptr, closer, &p[0]);
    int ok = 0;
    for (int i = 0; i < 5000; ++i) {
        const pid_t pid = fork();
        if (pid == 0) {
            close(77);  // the fd the other thread closes: whatever it held at the fork, this needs
            _exit(0);
        }
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) ++ok;
    }
    g_stop = true;
    pthread_join(t, nullptr);
    std::printf("forks that exited cleanly: %d of 5000\n", ok);
    return 0;
}

// --- wrong-end pipe I/O -----------------------------------------------------

int wrong_end() {
    int p[2];
    if (pipe(p) != 0) return 1;
    char c = 'x';
    errno = 0;
    ssize_t r = write(p[0], &c, 1);
    std::printf("write on the read end: %zd %s\n", r, std::strerror(errno));
    errno = 0;
    r = read(p[1], &c, 1);
    std::printf("read on the write end: %zd %s\n", r, std::strerror(errno));
    iovec v{&c, 1};
    errno = 0;
    r = writev(p[0], &v, 1);
    std::printf("writev on the read end: %zd %s\n", r, std::strerror(errno));
    errno = 0;
    r = readv(p[1], &v, 1);
    std::printf("readv on the write end: %zd %s\n", r, std::strerror(errno));
    errno = 0;
    r = read(12345, &c, 1);
    std::printf("read on a closed fd: %zd %s\n", r, std::strerror(errno));
    return 0;
}

// --- EINTR --------------------------------------------------------------------

sem_t g_signalled;  // posted by the handler: a helper thread then ends the call
int g_feed = -1;    // what the helper writes to (or connects to, for accept)
int g_port = 0;

void on_alarm(int) { sem_post(&g_signalled); }

void* feeder(void*) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);  // the signal is for the main thread's call
    while (sem_wait(&g_signalled) != 0) {
    }
    if (g_port) {
        const int s = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(g_port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
        const char c = 'y';
        send(s, &c, 1, 0);
        close(s);  // a handshake done and a byte sent: accept/recv can complete
    } else {
        const char c = 'y';
        if (write(g_feed, &c, 1) != 1) std::abort();
    }
    return nullptr;
}

/// Installs the handler (with or without SA_RESTART), arms a one-shot 20 ms
/// alarm and starts the helper that ends a resumed call once the handler ran.
pthread_t arm(bool restart, int feed, int port) {
    struct sigaction sa {};
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, nullptr);
    g_feed = feed;
    g_port = port;
    pthread_t t;
    pthread_create(&t, nullptr, feeder, nullptr);
    itimerval once{{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &once, nullptr);
    return t;
}

void report(const char* what, bool restart, long r) {
    const int err = errno;
    std::printf("%-28s %-12s -> %s\n", what, restart ? "SA_RESTART" : "no restart",
                r >= 0 ? "completed" : std::strerror(err));
}

int listener(int* port) {
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(s, 8);
    socklen_t len = sizeof a;
    getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    *port = ntohs(a.sin_port);
    return s;
}

int eintr() {
    // Under grove-run, the first call that waits loads grove: a signal that
    // lands while it loads comes before the wait (as one before a syscall
    // would), so the alarms below are armed only once it is loaded.
    usleep(1000);
    sem_init(&g_signalled, 0, 0);
    for (const bool restart : {false, true}) {
        char c;
        {
            int p[2];
            pipe(p);
            pthread_t t = arm(restart, p[1], 0);
            errno = 0;
            report("read(pipe)", restart, read(p[0], &c, 1));
            pthread_join(t, nullptr);
            close(p[0]), close(p[1]);
        }
        {
            int p[2];
            pipe(p);
            pthread_t t = arm(restart, p[1], 0);
            pollfd pf{p[0], POLLIN, 0};
            errno = 0;
            report("poll(pipe, -1)", restart, poll(&pf, 1, -1));
            pthread_join(t, nullptr);
            close(p[0]), close(p[1]);
        }
        {
            int p[2];
            pipe(p);
            pthread_t t = arm(restart, p[1], 0);
            fd_set r;
            FD_ZERO(&r);
            FD_SET(p[0], &r);
            errno = 0;
            report("select(pipe, NULL)", restart, select(p[0] + 1, &r, nullptr, nullptr, nullptr));
            pthread_join(t, nullptr);
            close(p[0]), close(p[1]);
        }
        {
            int port = 0;
            const int l = listener(&port);
            pthread_t t = arm(restart, -1, port);
            errno = 0;
            const int s = accept(l, nullptr, nullptr);
            report("accept", restart, s);
            pthread_join(t, nullptr);
            if (s >= 0) close(s);
            close(l);
        }
        for (const bool timeo : {false, true}) {
            int sv[2];
            socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
            if (timeo) {
                timeval tv{10, 0};
                setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            }
            pthread_t t = arm(restart, sv[1], 0);
            errno = 0;
            report(timeo ? "recv(SO_RCVTIMEO 10 s)" : "recv", restart, recv(sv[0], &c, 1, 0));
            pthread_join(t, nullptr);
            close(sv[0]), close(sv[1]);
        }
        {
            int p[2];
            pipe(p);  // the helper's write: nobody reads it
            pthread_t t = arm(restart, p[1], 0);
            timespec req{3, 0}, rem{0, 0};
            errno = 0;
            const int r = nanosleep(&req, &rem);
            report("nanosleep(3 s)", restart, r);
            // The alarm came after 20 ms: between 2 and 3 s were left.
            std::printf("  remaining time in (2 s, 3 s]: %s\n",
                        r != 0 && rem.tv_sec >= 2 && rem.tv_sec <= 3 ? "yes" : "no");
            pthread_join(t, nullptr);
            close(p[0]), close(p[1]);
        }
        {
            int p[2];
            pipe(p);
            pthread_t t = arm(restart, p[1], 0);
            timespec req{3, 0}, rem{0, 0};
            const int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
            std::printf("%-28s %-12s -> %s, remaining time in (2 s, 3 s]: %s\n", "clock_nanosleep(3 s)",
                        restart ? "SA_RESTART" : "no restart", r ? std::strerror(r) : "completed",
                        rem.tv_sec >= 2 && rem.tv_sec <= 3 ? "yes" : "no");
            pthread_join(t, nullptr);
            close(p[0]), close(p[1]);
        }
    }
    return 0;
}

// --- green threads: pthread semantics ------------------------------------------

pthread_key_t g_key;
std::atomic<int> g_destroyed{0};
pthread_t g_seen_self;

void destroy_value(void* v) {
    g_destroyed.fetch_add(1);
    delete static_cast<int*>(v);
}

void* worker(void* arg) {
    g_seen_self = pthread_self();
    pthread_setspecific(g_key, new int(*static_cast<int*>(arg)));
    pthread_attr_t attr;
    size_t stack = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstacksize(&attr, &stack);
        pthread_attr_destroy(&attr);
    }
    std::printf("  own key value: %d; stack >= 256 KiB and < 1 MiB: %s\n",
                *static_cast<int*>(pthread_getspecific(g_key)),
                stack >= 256 * 1024 && stack < 1024 * 1024 ? "yes" : "no");
    usleep(1000);  // a green thread switches here; the other one must see its own key value
    std::printf("  key value after a switch: %d\n", *static_cast<int*>(pthread_getspecific(g_key)));
    if (*static_cast<int*>(arg) == 2) pthread_exit(reinterpret_cast<void*>(42));
    return reinterpret_cast<void*>(7);
}

int green_threads() {
    pthread_key_create(&g_key, destroy_value);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int one = 1, two = 2;
    pthread_t a, b;
    pthread_create(&a, &attr, worker, &one);
    void* ra = nullptr;
    pthread_join(a, &ra);
    std::printf("thread 1: returned %ld, pthread_self inside == its id: %s\n", reinterpret_cast<long>(ra),
                pthread_equal(g_seen_self, a) ? "yes" : "no");
    pthread_create(&b, &attr, worker, &two);
    void* rb = nullptr;
    pthread_join(b, &rb);
    std::printf("thread 2: pthread_exit value %ld, differs from main: %s\n", reinterpret_cast<long>(rb),
                pthread_equal(b, pthread_self()) ? "no" : "yes");
    std::printf("key destructors run: %d; main's key value: %s\n", g_destroyed.load(),
                pthread_getspecific(g_key) ? "set" : "null");
    pthread_attr_destroy(&attr);
    return 0;
}

// --- descriptors an exec'd child inherits --------------------------------------

int cloexec(const char* self) {
    usleep(1000);  // the hub and its loop
    int p[2];
    pipe(p);
    write(p[1], "z", 1);
    char c;
    read(p[0], &c, 1);
    addrinfo* res = nullptr;
    if (getaddrinfo("127.0.0.1", "80", nullptr, &res) == 0) freeaddrinfo(res);  // the resolver's pool
    struct sigaction sa {};
    sa.sa_handler = on_alarm;
    sigaction(SIGUSR1, &sa, nullptr);
    close(p[0]), close(p[1]);
    std::fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "count-fds", static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    const char* mode = argc > 1 ? argv[1] : "";
    if (!std::strcmp(mode, "where")) return where();
    if (!std::strcmp(mode, "hub")) return hub();
    if (!std::strcmp(mode, "close-in-handler")) return close_in_handler_mode();
    if (!std::strcmp(mode, "fork-close")) return fork_close();
    if (!std::strcmp(mode, "wrong-end")) return wrong_end();
    if (!std::strcmp(mode, "eintr")) return eintr();
    if (!std::strcmp(mode, "cloexec")) return cloexec(argv[0]);
    if (!std::strcmp(mode, "green-threads")) return green_threads();
    if (!std::strcmp(mode, "count-fds")) {
        std::printf("fds open in an exec'd child: %d\n", count_fds(nullptr));
        return 0;
    }
    std::fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}
