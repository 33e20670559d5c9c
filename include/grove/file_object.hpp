// grove — FileObject: a regular file read and written on the ThreadPool
// (gevent.fileobject.FileObjectThread).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace grove {

class ThreadPool;

/// A stdio FILE* whose every operation runs on a ThreadPool worker while the
/// calling greenlet waits cooperatively: regular files are always "ready" to
/// poll, so a large read or write (or a slow disk, NFS) would otherwise stall
/// every greenlet of the thread. For pipes and sockets use grove::Socket,
/// subprocess::Pipe, or (under grove-hooks) a plain fdopen().
///
/// Every member but fileno()/closed() may switch. One operation at a time
/// runs on the file (they are serialised on the worker, in call order per
/// greenlet). A kill or grove::Timeout interrupts the *wait*: the operation
/// still completes on its worker, and its result is dropped (for write: the
/// data is written anyway). Errors: std::system_error with the worker's
/// errno; std::logic_error on a closed FileObject. Move-only.
class FileObject {
public:
    /// fopen(path, mode) on the pool. std::system_error when it fails.
    explicit FileObject(const std::string& path, const std::string& mode = "r", ThreadPool* pool = nullptr);
    /// Takes ownership of `fd` (fdopen). std::system_error when it fails.
    static FileObject adopt(int fd, const std::string& mode, ThreadPool* pool = nullptr);
    /// Move-only: the moved-from FileObject is closed().
    /// @{
    FileObject(FileObject&&) noexcept;
    FileObject& operator=(FileObject&&) noexcept;
    /// @}
    FileObject(const FileObject&) = delete;
    FileObject& operator=(const FileObject&) = delete;
    /// Closes it if still open, on the calling thread (blocking it for the
    /// final flush, after any operation still running on a worker).
    ~FileObject();

    /// Up to `size` bytes (nullopt: everything to the end). "" at the end.
    std::string read(std::optional<std::size_t> size = {});
    /// One line with its '\n' (at most `limit` bytes); "" at the end.
    std::string readline(std::optional<std::size_t> limit = {});
    /// Writes all of `data` (into stdio's buffer, flushed as stdio does).
    void write(std::string_view data);
    /// fflush() on the pool: stdio's buffer goes to the kernel. May switch.
    void flush();
    /// Flushes and closes on the pool; further calls but close() throw.
    void close();

    /// Whether close() was called (or it was moved from).
    bool closed() const noexcept;
    /// The fd; -1 once closed.
    int fileno() const noexcept;

    struct State;

private:
    FileObject(std::shared_ptr<State> state, ThreadPool* pool) noexcept;
    std::shared_ptr<State> state_;
    ThreadPool* pool_;
};

}  // namespace grove
