// grove-hooks internal — the per-fd cache; see fdtable.hpp for its rules.
#include "fdtable.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <atomic>

#include "real.hpp"

namespace grove::hooks {

namespace {

// One fd's cache entry: a sequence lock whose readers and writers never wait.
// A reader that finds the sequence odd (a write in progress, perhaps by the
// very code a signal handler interrupted, or by a thread that vanished in a
// fork) or changed under it treats the entry as a miss and asks the kernel; a
// writer that cannot claim the entry skips caching. So close(), dup2(),
// pipe(), socket()... take no lock that a signal handler or a forked child
// could deadlock on. fd_forget() must not be skipped: when the entry is being
// written it bumps the sequence by 2 (keeping it odd), which makes that
// writer's closing CAS fail, and a writer whose closing CAS fails leaves the
// entry empty.
struct Entry {
    std::atomic<std::uint32_t> seq{0};         // even: stable; odd: being written
    std::atomic<std::uint32_t> generation{0};  // 0: empty
    std::atomic<std::uint64_t> dev{0};
    std::atomic<std::uint64_t> ino{0};
    std::atomic<std::uint32_t> bits{0};  // FdInfo's kind and flags, packed
    std::atomic<long long> rcvtimeo_us{0};
    std::atomic<long long> sndtimeo_us{0};
};

constexpr int kChunkBits = 12;
constexpr int kChunkSize = 1 << kChunkBits;  // entries per chunk
constexpr int kChunks = 256;                 // fds below 1M are cached

std::atomic<Entry*> g_chunks[kChunks];
std::atomic<std::uint32_t> g_generation{1};

std::uint32_t pack(const FdInfo& i) noexcept {
    return static_cast<std::uint32_t>(i.kind) | (i.nonblock ? 0x100u : 0) | (i.stream ? 0x200u : 0) |
           (i.readable ? 0x400u : 0) | (i.writable ? 0x800u : 0);
}

FdInfo unpack(std::uint32_t b, long long rcv, long long snd) noexcept {
    FdInfo i;
    i.kind = static_cast<FdKind>(b & 0xff);
    i.nonblock = b & 0x100u;
    i.stream = b & 0x200u;
    i.readable = b & 0x400u;
    i.writable = b & 0x800u;
    i.rcvtimeo_us = rcv;
    i.sndtimeo_us = snd;
    return i;
}

/// Claims `e` for writing: the even sequence it had, or -1 if it is busy.
long long claim(Entry& e) noexcept {
    std::uint32_t s = e.seq.load(std::memory_order_relaxed);
    if ((s & 1) || !e.seq.compare_exchange_strong(s, s + 1, std::memory_order_acquire, std::memory_order_relaxed))
        return -1;
    std::atomic_thread_fence(std::memory_order_release);  // the odd sequence before the data
    return s;
}

/// Ends a write begun by claim() returning `s`; if a fd_forget() came in
/// meanwhile, the entry is left empty instead.
void publish(Entry& e, std::uint32_t s) noexcept {
    std::uint32_t expected = s + 1;
    if (e.seq.compare_exchange_strong(expected, s + 2, std::memory_order_release, std::memory_order_relaxed)) return;
    e.generation.store(0, std::memory_order_relaxed);
    e.seq.fetch_add(1, std::memory_order_release);  // odd + 1: stable again, and empty
}

/// Caches `info` for the fd whose stat is `st`, unless the entry is busy.
void store(Entry& e, const struct stat& st, std::uint32_t gen, const FdInfo& info) noexcept {
    const long long claimed = claim(e);
    if (claimed < 0) return;
    e.dev.store(st.st_dev, std::memory_order_relaxed);
    e.ino.store(st.st_ino, std::memory_order_relaxed);
    e.generation.store(gen, std::memory_order_relaxed);
    e.bits.store(pack(info), std::memory_order_relaxed);
    e.rcvtimeo_us.store(info.rcvtimeo_us, std::memory_order_relaxed);
    e.sndtimeo_us.store(info.sndtimeo_us, std::memory_order_relaxed);
    publish(e, static_cast<std::uint32_t>(claimed));
}

/// The entry for `fd`, mapping its chunk on first use; nullptr if out of range
/// or out of memory (the caller then reads everything from the kernel).
Entry* slot(int fd) noexcept {
    if (fd < 0 || fd >= kChunks * kChunkSize) return nullptr;
    std::atomic<Entry*>& chunk = g_chunks[fd >> kChunkBits];
    Entry* c = chunk.load(std::memory_order_acquire);
    if (!c) {
        // mmap, not new: this may run before main or inside an allocator.
        void* m = mmap(nullptr, sizeof(Entry) * kChunkSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return nullptr;
        Entry* fresh = static_cast<Entry*>(m);  // zero pages: every entry empty
        if (chunk.compare_exchange_strong(c, fresh, std::memory_order_acq_rel)) {
            c = fresh;
        } else {
            munmap(m, sizeof(Entry) * kChunkSize);
        }
    }
    return &c[fd & (kChunkSize - 1)];
}

long long timeo_us(int fd, int option) noexcept {
    timeval tv{};
    socklen_t len = sizeof tv;
    if (real::getsockopt(fd, SOL_SOCKET, option, &tv, &len) != 0) return 0;
    return static_cast<long long>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

/// Everything about `fd` but its kind, from the kernel.
void read_details(int fd, FdInfo& info) noexcept {
    const int fl = real::fcntl(fd, F_GETFL, 0);
    info.nonblock = fl >= 0 && (fl & O_NONBLOCK);
    info.readable = fl >= 0 && (fl & O_ACCMODE) != O_WRONLY;
    info.writable = fl >= 0 && (fl & O_ACCMODE) != O_RDONLY;
    if (info.kind != FdKind::Socket) return;
    int type = 0;
    socklen_t len = sizeof type;
    info.stream = real::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
    info.rcvtimeo_us = timeo_us(fd, SO_RCVTIMEO);
    info.sndtimeo_us = timeo_us(fd, SO_SNDTIMEO);
}

FdKind kind_of(int fd, const struct stat& st) noexcept {
    if (S_ISSOCK(st.st_mode)) return FdKind::Socket;
    if (S_ISFIFO(st.st_mode)) return FdKind::Pipe;
    if (S_ISCHR(st.st_mode)) {
        termios t;
        if (real::ioctl(fd, TCGETS, &t) == 0) return FdKind::Tty;
    }
    return FdKind::Other;
}

}  // namespace

FdInfo fd_info(int fd) noexcept {
    struct stat st;
    const int saved = errno;
    FdInfo info;
    if (fstat(fd, &st) != 0) {
        errno = saved;
        return info;
    }
    Entry* e = slot(fd);
    const std::uint32_t gen = g_generation.load(std::memory_order_acquire);
    if (e) {
        const std::uint32_t s1 = e->seq.load(std::memory_order_acquire);
        const std::uint32_t g = e->generation.load(std::memory_order_relaxed);
        const std::uint64_t dev = e->dev.load(std::memory_order_relaxed);
        const std::uint64_t ino = e->ino.load(std::memory_order_relaxed);
        const std::uint32_t bits = e->bits.load(std::memory_order_relaxed);
        const long long rcv = e->rcvtimeo_us.load(std::memory_order_relaxed);
        const long long snd = e->sndtimeo_us.load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        const std::uint32_t s2 = e->seq.load(std::memory_order_relaxed);
        if (!(s1 & 1) && s1 == s2 && g == gen && dev == st.st_dev && ino == st.st_ino) {
            errno = saved;
            return unpack(bits, rcv, snd);
        }
    }
    info.kind = kind_of(fd, st);
    if (info.kind != FdKind::Other) read_details(fd, info);
    if (e) store(*e, st, gen, info);
    errno = saved;
    return info;
}

FdKind fd_kind_hint(int fd) noexcept {
    if (fd < 0 || fd >= kChunks * kChunkSize) return FdKind::Bad;
    const Entry* c = g_chunks[fd >> kChunkBits].load(std::memory_order_acquire);
    if (!c) return FdKind::Bad;
    const Entry& e = c[fd & (kChunkSize - 1)];
    // No sequence check: a torn or stale read is still only a hint.
    if (e.generation.load(std::memory_order_relaxed) == 0) return FdKind::Bad;
    return static_cast<FdKind>(e.bits.load(std::memory_order_relaxed) & 0xff);
}

void fd_record(int fd, const FdInfo& info) noexcept {
    struct stat st;
    Entry* e = slot(fd);
    const int saved = errno;
    const bool ok = e && fstat(fd, &st) == 0;
    errno = saved;
    if (ok) store(*e, st, g_generation.load(std::memory_order_acquire), info);
}

void fd_table_changed() noexcept { g_generation.fetch_add(1, std::memory_order_acq_rel); }

void fd_forget(int fd) noexcept {
    Entry* e = slot(fd);
    if (!e) return;
    for (;;) {
        std::uint32_t s = e->seq.load(std::memory_order_acquire);
        if (s & 1) {
            // Being written (perhaps by the code this signal handler interrupted):
            // +2 keeps it odd and makes that writer's publish() empty the entry.
            if (e->seq.compare_exchange_weak(s, s + 2, std::memory_order_acq_rel, std::memory_order_relaxed)) return;
            continue;
        }
        const long long claimed = claim(*e);
        if (claimed < 0) continue;  // claimed by someone in between: look again
        e->generation.store(0, std::memory_order_relaxed);
        publish(*e, static_cast<std::uint32_t>(claimed));
        return;
    }
}

}  // namespace grove::hooks
