// grove — FileObject: every stdio call on a ThreadPool worker.
//
// The FILE* lives in a State shared by the FileObject and every job in
// flight, and is only touched under the State's mutex: a job that outlives
// its waiter (killed, timed out) or a FileObject destroyed while a job runs
// never sees a freed FILE*.
#include <grove/file_object.hpp>

#include <cerrno>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include <grove/io/threadpool.hpp>

namespace grove {

struct FileObject::State {
    std::mutex mutex;
    FILE* file = nullptr;  // null once closed; guarded by mutex
    int fd = -1;           // for fileno() without the mutex
};

namespace {

[[noreturn]] void fail(int err, const char* what) { throw std::system_error(err, std::system_category(), what); }

/// Runs `f(FILE*)` on the pool under the state's lock.
template <class F>
auto on_pool(ThreadPool& pool, const std::shared_ptr<FileObject::State>& st, const char* what, F f) {
    return pool.apply([st, what, f = std::move(f)]() mutable {
        std::lock_guard<std::mutex> lock(st->mutex);
        if (!st->file) throw std::logic_error(std::string(what) + ": I/O operation on a closed FileObject");
        return f(st->file);
    });
}

ThreadPool& pool_or_default(ThreadPool* pool) { return pool ? *pool : get_threadpool(); }

}  // namespace

FileObject::FileObject(std::shared_ptr<State> state, ThreadPool* pool) noexcept
    : state_(std::move(state)), pool_(pool) {}

FileObject::FileObject(const std::string& path, const std::string& mode, ThreadPool* pool)
    : state_(std::make_shared<State>()), pool_(pool) {
    auto st = state_;
    pool_or_default(pool_).apply([st, path, mode] {
        FILE* f = std::fopen(path.c_str(), mode.c_str());
        if (!f) fail(errno, "grove::FileObject: fopen");
        std::lock_guard<std::mutex> lock(st->mutex);
        st->file = f;
        st->fd = ::fileno(f);
    });
}

FileObject FileObject::adopt(int fd, const std::string& mode, ThreadPool* pool) {
    FILE* f = ::fdopen(fd, mode.c_str());
    if (!f) fail(errno, "grove::FileObject::adopt: fdopen");
    auto st = std::make_shared<State>();
    st->file = f;
    st->fd = fd;
    return FileObject(std::move(st), pool);
}

FileObject::FileObject(FileObject&&) noexcept = default;
FileObject& FileObject::operator=(FileObject&& o) noexcept {
    if (this != &o) {
        FileObject old(std::move(*this));  // closes what this held
        state_ = std::move(o.state_);
        pool_ = o.pool_;
    }
    return *this;
}

FileObject::~FileObject() {
    if (!state_) return;
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->file) std::fclose(state_->file);
    state_->file = nullptr;
    state_->fd = -1;
}

std::string FileObject::read(std::optional<std::size_t> size) {
    return on_pool(pool_or_default(pool_), state_, "grove::FileObject::read", [size](FILE* f) {
        std::string out;
        char buf[65536];
        std::size_t want = size.value_or(SIZE_MAX);
        while (want > 0) {
            const std::size_t n = std::fread(buf, 1, std::min(want, sizeof buf), f);
            out.append(buf, n);
            want -= n;
            if (n == 0 || n < std::min(want + n, sizeof buf)) break;
        }
        if (std::ferror(f)) {
            const int err = errno;
            std::clearerr(f);
            fail(err, "grove::FileObject::read");
        }
        return out;
    });
}

std::string FileObject::readline(std::optional<std::size_t> limit) {
    return on_pool(pool_or_default(pool_), state_, "grove::FileObject::readline", [limit](FILE* f) {
        std::string out;
        const std::size_t max = limit.value_or(SIZE_MAX);
        int c = 0;
        while (out.size() < max && (c = std::getc(f)) != EOF) {
            out.push_back(static_cast<char>(c));
            if (c == '\n') break;
        }
        if (c == EOF && std::ferror(f)) {
            const int err = errno;
            std::clearerr(f);
            fail(err, "grove::FileObject::readline");
        }
        return out;
    });
}

void FileObject::write(std::string_view data) {
    on_pool(pool_or_default(pool_), state_, "grove::FileObject::write", [d = std::string(data)](FILE* f) {
        if (std::fwrite(d.data(), 1, d.size(), f) != d.size()) fail(errno, "grove::FileObject::write");
    });
}

void FileObject::flush() {
    on_pool(pool_or_default(pool_), state_, "grove::FileObject::flush", [](FILE* f) {
        if (std::fflush(f) != 0) fail(errno, "grove::FileObject::flush");
    });
}

void FileObject::close() {
    if (closed()) return;
    auto st = state_;
    pool_or_default(pool_).apply([st] {
        std::lock_guard<std::mutex> lock(st->mutex);
        if (!st->file) return;
        const int r = std::fclose(st->file);
        const int err = errno;
        st->file = nullptr;
        st->fd = -1;
        if (r != 0) fail(err, "grove::FileObject::close");
    });
}

bool FileObject::closed() const noexcept {
    if (!state_) return true;
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->file == nullptr;
}

int FileObject::fileno() const noexcept {
    if (!state_) return -1;
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->fd;
}

}  // namespace grove
