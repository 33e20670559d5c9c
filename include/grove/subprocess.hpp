// grove — subprocesses (gevent.subprocess, Python's subprocess): start a
// program, talk to it over cooperative pipes, wait for it, all without
// blocking the other greenlets.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <grove/duration.hpp>

namespace grove::subprocess {

/// Where a child's stdin, stdout or stderr goes: INHERIT (the parent's),
/// PIPE (a cooperative Pipe in the Popen), DEVNULL, STDOUT (stderr only: the
/// same place as stdout) or fd(n) (an fd of the caller's, which keeps it).
struct Redirect {
    /// What a Redirect names (INHERIT, PIPE, DEVNULL, STDOUT or an fd).
    enum class Kind { Inherit, Pipe, DevNull, Stdout, Fd };
    /// Which of the five places.
    Kind kind = Kind::Inherit;
    /// The caller's fd, for Kind::Fd (-1 otherwise).
    int fd = -1;
};
/// Keep the parent's stream (the default).
inline constexpr Redirect INHERIT{Redirect::Kind::Inherit};
/// A cooperative Pipe in the Popen (stdin_pipe(), stdout_pipe(), stderr_pipe()).
inline constexpr Redirect PIPE{Redirect::Kind::Pipe};
/// /dev/null.
inline constexpr Redirect DEVNULL{Redirect::Kind::DevNull};
/// For stderr only: wherever stdout goes.
inline constexpr Redirect STDOUT{Redirect::Kind::Stdout};
/// std::invalid_argument for a negative fd.
Redirect fd(int n);

/// How to start the child. Every field has Python's default.
struct Options {
    /// The child's stdin (INHERIT by default).
    Redirect stdin_ = INHERIT;
    /// The child's stdout (INHERIT by default).
    Redirect stdout_ = INHERIT;
    Redirect stderr_ = INHERIT;  ///< STDOUT: merged into stdout
    /// argv[0] is a command line for `/bin/sh -c`; the rest become $0, $1...
    bool shell = false;
    /// Working directory of the child (nullopt: the parent's).
    std::optional<std::string> cwd;
    /// The child's whole environment, "NAME=value" each (nullopt: the
    /// parent's). The program is still looked up on the *parent's* PATH.
    std::optional<std::vector<std::string>> env;
};

/// Base of the errors this module throws for the child's outcome (ordinary
/// exceptions, not cancellations: a TimeoutExpired is not a TimeoutError).
class SubprocessError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// wait(), communicate() or run() ran out of time. The child keeps running
/// (run() kills it first); output read so far is kept.
class TimeoutExpired : public SubprocessError {
public:
    /// Carries the command, the timeout and what was read before it expired.
    TimeoutExpired(std::vector<std::string> cmd, Duration timeout, std::string output = {}, std::string err = {});
    /// The command (argv) that timed out.
    std::vector<std::string> cmd;
    /// The timeout that expired.
    Duration timeout;
    std::string output;      ///< stdout read before the timeout
    std::string stderr_out;  ///< stderr read before the timeout
};

/// check_output() / run(check = true): the child ended unsuccessfully.
class CalledProcessError : public SubprocessError {
public:
    /// Carries the exit status, the command and whatever output was captured.
    CalledProcessError(int returncode, std::vector<std::string> cmd, std::string output = {}, std::string err = {});
    int returncode;  ///< exit code, or -N for death by signal N
    /// The command (argv).
    std::vector<std::string> cmd;
    /// Its stdout, when captured.
    std::string output;
    /// Its stderr, when captured.
    std::string stderr_out;
};

/// The parent's end of a child's stdin, stdout or stderr pipe: a cooperative
/// stream (its fd is O_NONBLOCK and close-on-exec; the child's end is
/// blocking). Reads and writes block only the calling greenlet; kill and
/// grove::Timeout interrupt them at the wait (nothing read is lost). Writing
/// to a child that closed its end throws std::system_error(EPIPE), never
/// SIGPIPE. OS errors: std::system_error. Move-only; closes on destruction.
class Pipe {
public:
    /// A closed pipe, or one that adopts `fd` (closed on destruction).
    /// Move-only: the moved-from Pipe is closed.
    /// @{
    Pipe() noexcept = default;
    explicit Pipe(int fd) noexcept : fd_(fd) {}
    Pipe(Pipe&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Pipe& operator=(Pipe&& o) noexcept;
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    ~Pipe() { close(); }
    /// @}

    /// The fd, or -1 once closed. is_open(): fd >= 0.
    /// @{
    int fileno() const noexcept { return fd_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    /// @}

    /// Up to `size` bytes into `buf`; 0 at end of stream. May switch.
    std::size_t read_into(void* buf, std::size_t size);
    /// Up to `max` bytes; "" at end of stream. May switch.
    std::string read(std::size_t max = 65536);
    /// Everything until end of stream. May switch.
    std::string read_all();
    /// Writes some of `data` (at least one byte unless empty), waiting until
    /// the pipe takes any; returns how much. May switch; interrupted while
    /// waiting, nothing was written.
    std::size_t write(std::string_view data);
    /// Writes all of `data`. May switch; on kill/Timeout an unknown prefix
    /// may have gone out.
    void write_all(std::string_view data);
    /// Wakes greenlets waiting on it (EBADF), then closes. Never switches.
    void close() noexcept;

private:
    int fd_ = -1;
};

/// A child process (subprocess.Popen). Constructing it starts the child
/// (posix_spawn: the parent's other fds are not inherited, SIGPIPE and
/// SIGXFSZ are back to their defaults in the child). Throws
/// std::system_error when the program cannot be started (ENOENT...),
/// std::invalid_argument for an empty argv or STDOUT given for stdin/stdout.
///
/// Waiting uses a pidfd on the hub (no SIGCHLD handler, nothing else of the
/// process's children is touched). Use a Popen from the greenlets of one
/// thread. A Popen destroyed while its child runs leaves the child running
/// (as in Python) and hands it to grove's reaper thread, so it never stays a
/// zombie; its pipes are closed.
class Popen {
public:
    /// Starts `args[0]` (looked up on PATH) with `args` as its argv; see the class
    /// comment.
    explicit Popen(std::vector<std::string> args, Options options = {});
    /// `/bin/sh -c command`.
    static Popen shell(std::string command, Options options = {});
    /// Move-only; the moved-from Popen owns no child.
    /// @{
    Popen(Popen&&) noexcept;
    Popen& operator=(Popen&&) noexcept;
    /// @}
    ~Popen();

    /// The child's pid; its argv.
    /// @{
    pid_t pid() const noexcept;
    const std::vector<std::string>& args() const noexcept;
    /// @}

    /// Exit code, -N after death by signal N; nullopt while it runs (as
    /// last seen by poll/wait/communicate).
    std::optional<int> returncode() const noexcept;

    /// Checks without waiting; returns returncode(). Never switches.
    std::optional<int> poll();
    /// Waits for the child to end; returns returncode(). Throws
    /// TimeoutExpired after `timeout` (the child keeps running). May switch;
    /// kill and grove::Timeout interrupt it.
    int wait(std::optional<Duration> timeout = {});
    /// Writes `input` to stdin (then closes it) while reading stdout and
    /// stderr to their end, then waits for the child: never deadlocks on
    /// large input and output together. Returns {stdout, stderr} ("" for
    /// streams that are not PIPE). After `timeout`: TimeoutExpired carrying
    /// what was read; calling communicate() again continues where it was
    /// (send the same input). A child that exits without reading all its
    /// input is fine (EPIPE is ignored). May switch; a kill leaves the
    /// child running and leaks nothing.
    std::pair<std::string, std::string> communicate(std::string_view input = {}, std::optional<Duration> timeout = {});

    /// kill(2) to the child; a no-op once it has been reaped.
    void send_signal(int sig);
    /// SIGTERM, SIGKILL: send_signal() with those (no-ops once the child is reaped).
    /// @{
    void terminate();  // SIGTERM
    void kill();       // SIGKILL
    /// @}

    /// The parent's ends of the PIPE streams (not open for other kinds).
    /// @{
    Pipe& stdin_pipe() noexcept;
    Pipe& stdout_pipe() noexcept;
    Pipe& stderr_pipe() noexcept;
    /// @}

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

/// What run() returns.
struct CompletedProcess {
    /// The argv the child ran with.
    std::vector<std::string> args;
    /// Exit code, or -N after death by signal N.
    int returncode = 0;
    std::string stdout_;  ///< when captured, else ""
    /// Its stderr when captured, else "".
    std::string stderr_;
};

/// Options of run() and check_output(), on top of Popen's.
struct RunOptions : Options {
    std::optional<std::string> input;  ///< sent to stdin (which becomes PIPE)
    std::optional<Duration> timeout;   ///< on expiry: the child is killed, TimeoutExpired
    bool capture_output = false;       ///< stdout and stderr become PIPE
    bool check = false;                ///< nonzero exit: CalledProcessError
};

/// Runs the child to completion (subprocess.run). May switch; a kill or
/// grove::Timeout kills the child (SIGKILL) and reaps it before leaving.
CompletedProcess run(std::vector<std::string> args, RunOptions options = {});

/// Runs the child with stdout captured and returns it; CalledProcessError
/// (carrying the status and the output) when it exits unsuccessfully.
std::string check_output(std::vector<std::string> args, RunOptions options = {});

}  // namespace grove::subprocess
