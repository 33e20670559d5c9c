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

struct Entry {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::uint32_t generation = 0;  // 0: empty
    FdInfo info;
};

constexpr int kChunkBits = 12;
constexpr int kChunkSize = 1 << kChunkBits;  // entries per chunk
constexpr int kChunks = 256;                 // fds below 1M are cached
constexpr int kStripes = 64;

std::atomic<Entry*> g_chunks[kChunks];
std::atomic<std::uint32_t> g_generation{1};
std::atomic_flag g_locks[kStripes];

class StripeLock {
public:
    explicit StripeLock(int fd) noexcept : flag_(g_locks[fd % kStripes]) {
        while (flag_.test_and_set(std::memory_order_acquire)) {
        }
    }
    ~StripeLock() { flag_.clear(std::memory_order_release); }
    StripeLock(const StripeLock&) = delete;
    StripeLock& operator=(const StripeLock&) = delete;

private:
    std::atomic_flag& flag_;
};

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
        StripeLock lock(fd);
        if (e->generation == gen && e->dev == st.st_dev && e->ino == st.st_ino) {
            errno = saved;
            return e->info;
        }
    }
    info.kind = kind_of(fd, st);
    if (info.kind != FdKind::Other) read_details(fd, info);
    if (e) {
        StripeLock lock(fd);
        e->dev = st.st_dev;
        e->ino = st.st_ino;
        e->generation = gen;
        e->info = info;
    }
    errno = saved;
    return info;
}

void fd_record(int fd, const FdInfo& info) noexcept {
    struct stat st;
    Entry* e = slot(fd);
    const int saved = errno;
    const bool ok = e && fstat(fd, &st) == 0;
    errno = saved;
    if (!ok) return;
    StripeLock lock(fd);
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->generation = g_generation.load(std::memory_order_acquire);
    e->info = info;
}

void fd_table_changed() noexcept { g_generation.fetch_add(1, std::memory_order_acq_rel); }

void fd_forget(int fd) noexcept {
    Entry* e = slot(fd);
    if (!e) return;
    StripeLock lock(fd);
    e->generation = 0;
}

}  // namespace grove::hooks
