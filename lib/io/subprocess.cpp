// grove — subprocess: Popen on posix_spawn, pidfd waits and cooperative pipes.
//
// Ownership: Popen holds a shared Impl (pid, status, pipes, what communicate
// has read and written so far). communicate's helper greenlets hold it too,
// so a Popen destroyed while they unwind (its caller was killed) never
// leaves them a dangling pointer. The pid is either reaped by us (wait/poll),
// or handed to the reaper thread when the Impl dies, never both.
#include <grove/subprocess.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

#include <grove/greenlet.hpp>
#include <grove/io/wait.hpp>

#include "child.hpp"

extern char** environ;

namespace grove::subprocess {

namespace {

std::string join_args(const std::vector<std::string>& args) {
    std::string s;
    for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
    return s;
}

[[noreturn]] void throw_errno(int err, const char* what) { throw std::system_error(err, std::system_category(), what); }

/// Python's returncode: the exit code, or -N for death by signal N.
int returncode_of(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return -1;
}

}  // namespace

Redirect fd(int n) {
    if (n < 0) throw std::invalid_argument("grove::subprocess::fd: negative fd");
    return Redirect{Redirect::Kind::Fd, n};
}

TimeoutExpired::TimeoutExpired(std::vector<std::string> c, Duration t, std::string out, std::string err)
    : SubprocessError(fmt::format("Command '{}' timed out after {} seconds", join_args(c), t.count())),
      cmd(std::move(c)),
      timeout(t),
      output(std::move(out)),
      stderr_out(std::move(err)) {}

CalledProcessError::CalledProcessError(int rc, std::vector<std::string> c, std::string out, std::string err)
    : SubprocessError(rc < 0 ? fmt::format("Command '{}' died with signal {}", join_args(c), -rc)
                             : fmt::format("Command '{}' returned non-zero exit status {}", join_args(c), rc)),
      returncode(rc),
      cmd(std::move(c)),
      output(std::move(out)),
      stderr_out(std::move(err)) {}

// --- Pipe -------------------------------------------------------------------

Pipe& Pipe::operator=(Pipe&& o) noexcept {
    if (this != &o) {
        close();
        fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
}

void Pipe::close() noexcept {
    if (fd_ < 0) return;
    notify_close(fd_);
    ::close(std::exchange(fd_, -1));
}

std::size_t Pipe::read_into(void* buf, std::size_t size) {
    for (;;) {
        if (fd_ < 0) throw_errno(EBADF, "grove::subprocess::Pipe::read");
        const ssize_t n = ::read(fd_, buf, size);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EINTR) continue;
        if (errno != EAGAIN) throw_errno(errno, "grove::subprocess::Pipe::read");
        wait_read(fd_);
    }
}

std::string Pipe::read(std::size_t max) {
    std::string out(max, '\0');
    out.resize(read_into(out.data(), max));
    return out;
}

std::string Pipe::read_all() {
    std::string out;
    char buf[65536];
    while (const std::size_t n = read_into(buf, sizeof buf)) out.append(buf, n);
    return out;
}

namespace {

/// write(2) with SIGPIPE blocked on this thread and a SIGPIPE it raised
/// discarded: the caller sees EPIPE instead of dying.
ssize_t write_quietly(int fd, const void* data, std::size_t n) {
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigset_t pending;
    sigpending(&pending);
    const bool was_pending = sigismember(&pending, SIGPIPE);
    const ssize_t r = ::write(fd, data, n);
    const int err = errno;
    if (r < 0 && err == EPIPE && !was_pending) {
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = err;
    return r;
}

}  // namespace

std::size_t Pipe::write(std::string_view data) {
    for (;;) {
        if (fd_ < 0) throw_errno(EBADF, "grove::subprocess::Pipe::write");
        const ssize_t n = write_quietly(fd_, data.data(), data.size());
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EINTR) continue;
        if (errno != EAGAIN) throw_errno(errno, "grove::subprocess::Pipe::write");
        wait_write(fd_);
    }
}

void Pipe::write_all(std::string_view data) {
    while (!data.empty()) data.remove_prefix(write(data));
}

// --- Popen ------------------------------------------------------------------

struct Popen::Impl {
    std::vector<std::string> args;
    pid_t pid = -1;
    std::optional<int> returncode;
    Pipe in, out, err;
    // communicate()'s progress, kept across a TimeoutExpired.
    std::string input;
    bool input_taken = false;
    std::size_t input_sent = 0;
    std::string out_buf, err_buf;

    ~Impl() {
        if (pid > 0 && !returncode) detail::reap_later(pid);
    }

    /// One non-blocking look at the child; true once it is reaped.
    bool reap_now() {
        if (returncode) return true;
        int status = 0;
        const long r = syscall(SYS_wait4, pid, &status, WNOHANG, nullptr);
        if (r == pid) {
            returncode = returncode_of(status);
            return true;
        }
        if (r < 0 && errno == ECHILD) {  // reaped behind our back: Python says 0
            returncode = 0;
            return true;
        }
        return false;
    }
};

namespace {

/// The parent's end and the child's end of a new pipe, both close-on-exec;
/// the parent's is non-blocking.
std::pair<int, int> make_pipe(bool parent_reads) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "grove::subprocess::Popen: pipe");
    const int parent = parent_reads ? fds[0] : fds[1];
    const int child = parent_reads ? fds[1] : fds[0];
    ::fcntl(parent, F_SETFL, ::fcntl(parent, F_GETFL) | O_NONBLOCK);
    return {parent, child};
}

struct Spawn {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    std::vector<int> close_after;  // child ends, closed in the parent after spawning
    Spawn() {
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
    }
    ~Spawn() {
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        for (int fd : close_after) ::close(fd);
    }

    /// Sets up child fd `target` as `r` says; a PIPE's parent end goes to `pipe`.
    void redirect(const Redirect& r, int target, Pipe& pipe) {
        switch (r.kind) {
            case Redirect::Kind::Inherit:
                return;
            case Redirect::Kind::Pipe: {
                auto [parent, child] = make_pipe(target != STDIN_FILENO);
                pipe = Pipe(parent);
                close_after.push_back(child);
                posix_spawn_file_actions_adddup2(&fa, child, target);
                return;
            }
            case Redirect::Kind::DevNull:
                posix_spawn_file_actions_addopen(&fa, target, "/dev/null", target == STDIN_FILENO ? O_RDONLY : O_WRONLY,
                                                 0);
                return;
            case Redirect::Kind::Stdout:
                posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, target);
                return;
            case Redirect::Kind::Fd:
                posix_spawn_file_actions_adddup2(&fa, r.fd, target);
                return;
        }
    }
};

std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

}  // namespace

Popen::Popen(std::vector<std::string> args, Options o) : impl_(std::make_shared<Impl>()) {
    if (args.empty()) throw std::invalid_argument("grove::subprocess::Popen: empty argv");
    if (o.stdin_.kind == Redirect::Kind::Stdout || o.stdout_.kind == Redirect::Kind::Stdout)
        throw std::invalid_argument("grove::subprocess::Popen: STDOUT is for stderr only");
    impl_->args = args;
    std::vector<std::string> argv = std::move(args);
    if (o.shell) {
        argv.insert(argv.begin(), {"/bin/sh", "-c"});
    }
    Spawn s;
    s.redirect(o.stdin_, STDIN_FILENO, impl_->in);
    s.redirect(o.stdout_, STDOUT_FILENO, impl_->out);
    s.redirect(o.stderr_, STDERR_FILENO, impl_->err);
    if (o.cwd) posix_spawn_file_actions_addchdir_np(&s.fa, o.cwd->c_str());
    // close_fds=True: nothing but 0, 1 and 2 crosses into the child.
    posix_spawn_file_actions_addclosefrom_np(&s.fa, 3);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGXFSZ);
    posix_spawnattr_setsigdefault(&s.attr, &defaults);
    posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> cargv = c_strings(argv);
    std::vector<std::string> envs = o.env ? *o.env : std::vector<std::string>{};
    std::vector<char*> cenv = c_strings(envs);
    char** envp = o.env ? cenv.data() : environ;
    const int err = o.shell ? posix_spawn(&impl_->pid, "/bin/sh", &s.fa, &s.attr, cargv.data(), envp)
                            : posix_spawnp(&impl_->pid, cargv[0], &s.fa, &s.attr, cargv.data(), envp);
    if (err != 0) {
        impl_->pid = -1;
        throw std::system_error(err, std::system_category(),
                                fmt::format("grove::subprocess::Popen: cannot run '{}'", argv[0]));
    }
}

Popen Popen::shell(std::string command, Options options) {
    options.shell = true;
    return Popen({std::move(command)}, std::move(options));
}

Popen::Popen(Popen&&) noexcept = default;
Popen& Popen::operator=(Popen&&) noexcept = default;
Popen::~Popen() = default;

pid_t Popen::pid() const noexcept { return impl_->pid; }
const std::vector<std::string>& Popen::args() const noexcept { return impl_->args; }
std::optional<int> Popen::returncode() const noexcept { return impl_->returncode; }
Pipe& Popen::stdin_pipe() noexcept { return impl_->in; }
Pipe& Popen::stdout_pipe() noexcept { return impl_->out; }
Pipe& Popen::stderr_pipe() noexcept { return impl_->err; }

std::optional<int> Popen::poll() {
    impl_->reap_now();
    return impl_->returncode;
}

int Popen::wait(std::optional<Duration> timeout) {
    const auto deadline = detail::deadline_after(timeout, "grove::subprocess::Popen::wait");
    while (!impl_->reap_now()) {
        if (!detail::wait_exited(impl_->pid, deadline) && !impl_->reap_now())
            throw TimeoutExpired(impl_->args, timeout.value_or(Duration::zero()));
    }
    return *impl_->returncode;
}

void Popen::send_signal(int sig) {
    if (impl_->returncode) return;  // reaped: the pid may belong to someone else now
    if (::kill(impl_->pid, sig) != 0 && errno != ESRCH) throw_errno(errno, "grove::subprocess::Popen::send_signal");
}
void Popen::terminate() { send_signal(SIGTERM); }
void Popen::kill() { send_signal(SIGKILL); }

std::pair<std::string, std::string> Popen::communicate(std::string_view input, std::optional<Duration> timeout) {
    const auto deadline = detail::deadline_after(timeout, "grove::subprocess::Popen::communicate");
    std::shared_ptr<Impl> s = impl_;
    if (!s->input_taken) {
        s->input.assign(input);
        s->input_taken = true;
    }
    std::vector<Ref<GreenletBase>> helpers;
    struct Abandon {  // whatever way we leave, no helper outlives this call
        std::vector<Ref<GreenletBase>>& helpers;
        ~Abandon() {
            for (auto& g : helpers)
                if (!g->dead()) g->kill({}, false);
        }
    } abandon{helpers};
    if (s->in.is_open()) {
        helpers.push_back(grove::spawn([s] {
            try {
                // Progress counts per write: a kill or timeout between two
                // writes never makes the next communicate() send bytes twice.
                while (s->input_sent < s->input.size())
                    s->input_sent += s->in.write(std::string_view(s->input).substr(s->input_sent));
            } catch (const std::system_error& e) {
                if (e.code().value() != EPIPE) throw;  // the child stopped reading: fine
            }
            s->in.close();
        }));
    }
    auto reader = [s](Pipe Impl::*pipe, std::string Impl::*buf) {
        return grove::spawn([s, pipe, buf] {
            char chunk[65536];
            while (const std::size_t n = ((*s).*pipe).read_into(chunk, sizeof chunk)) ((*s).*buf).append(chunk, n);
            ((*s).*pipe).close();  // at EOF: a later communicate() reads no more
        });
    };
    if (s->out.is_open()) helpers.push_back(reader(&Impl::out, &Impl::out_buf));
    if (s->err.is_open()) helpers.push_back(reader(&Impl::err, &Impl::err_buf));
    std::optional<Duration> left;
    if (deadline) left = std::chrono::duration_cast<Duration>(*deadline - grove::now());
    if (joinall(helpers, left).size() < helpers.size()) {
        killall(helpers);  // they stop at their waits: what they read is in the buffers
        throw TimeoutExpired(s->args, timeout.value_or(Duration::zero()), s->out_buf, s->err_buf);
    }
    for (auto& g : helpers)
        if (auto e = g->exception()) std::rethrow_exception(e);
    if (deadline) left = std::chrono::duration_cast<Duration>(*deadline - grove::now());
    try {
        wait(left);
    } catch (const TimeoutExpired&) {
        throw TimeoutExpired(s->args, timeout.value_or(Duration::zero()), s->out_buf, s->err_buf);
    }
    return {std::exchange(s->out_buf, {}), std::exchange(s->err_buf, {})};
}

// --- run, check_output --------------------------------------------------------

CompletedProcess run(std::vector<std::string> args, RunOptions o) {
    if (o.input) o.stdin_ = PIPE;
    if (o.capture_output) {
        o.stdout_ = PIPE;
        o.stderr_ = PIPE;
    }
    Popen p(std::move(args), o);
    struct KillOnLeave {  // an exception (timeout, kill, error) kills and reaps the child
        Popen& p;
        bool armed = true;
        ~KillOnLeave() {
            if (!armed || p.poll()) return;
            p.kill();
            // Block (briefly: SIGKILL) until it is dead, without reaping,
            // then let poll() reap it and record the status. No cooperative
            // wait here: this runs during unwinding, where nothing may throw.
            siginfo_t info{};
            while (syscall(SYS_waitid, P_PID, p.pid(), &info, WEXITED | WNOWAIT, nullptr) < 0 && errno == EINTR) {
            }
            p.poll();
        }
    } guard{p};
    auto [out, err] = p.communicate(o.input ? *o.input : std::string_view{}, o.timeout);
    guard.armed = false;
    CompletedProcess done{p.args(), *p.returncode(), std::move(out), std::move(err)};
    if (o.check && done.returncode != 0)
        throw CalledProcessError(done.returncode, done.args, std::move(done.stdout_), std::move(done.stderr_));
    return done;
}

std::string check_output(std::vector<std::string> args, RunOptions o) {
    o.stdout_ = PIPE;
    o.check = true;
    return run(std::move(args), std::move(o)).stdout_;
}

}  // namespace grove::subprocess
