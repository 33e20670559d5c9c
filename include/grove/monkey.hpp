// grove — monkey patching: libc's blocking calls, made cooperative for legacy code.
//
// Linking `grove-hooks` (or preloading it: `tools/grove-run PROGRAM ARGS...`)
// interposes the libc symbols listed below. They stay plain libc calls until
// patch_all() or env GROVE_PATCH_ALL=1 turns them on. Once on, a hooked call is
// *cooperative* when all of these hold:
//   - the calling thread has a hub (grove::get_hub_if_exists() != nullptr),
//   - the caller is not the hub itself (a libev, link or hub callback),
//   - the fd is a socket, a pipe/FIFO or a tty, and the user's view of it is
//     blocking (O_NONBLOCK not set by fcntl/ioctl FIONBIO/SOCK_NONBLOCK/
//     accept4/pipe2 flags).
// Otherwise it is the real libc call, untouched (resolved once with
// dlsym(RTLD_NEXT), thread-safe, usable before main and from inside dlsym).
//
// A cooperative call first tries the real call without blocking; if it would
// block, the calling greenlet waits on the hub (grove::wait_read/wait_write)
// while other greenlets run, then retries. It returns what the real blocking
// call would: the same value, errno, partial reads (a read returns as soon as
// some data is there) and complete writes (a blocking stream write returns
// when everything is written, or the count written before an error/timeout).
//
// Hooked calls and their cooperative semantics
//   sleep, usleep, nanosleep, clock_nanosleep
//       grove::sleep for the duration (clock_nanosleep: CLOCK_REALTIME,
//       CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI, relative or TIMER_ABSTIME;
//       CPU-time clocks are the real call). Invalid arguments: the real call's
//       error. std::this_thread::sleep_for goes through nanosleep.
//   read, write, readv, writev, recv, recvfrom, recvmsg, send, sendto, sendmsg
//       Sockets: the real call with MSG_DONTWAIT (the description's O_NONBLOCK
//       is never touched); a stream send/write returns when all is sent, a
//       recv with MSG_WAITALL when all is received, like the kernel. Pipes and
//       ttys: poll with a zero timeout, then the real call, with no switch in
//       between (another *process* or *thread* consuming the same pipe in that
//       window can make the real call block the thread); writes longer than
//       PIPE_BUF go out in PIPE_BUF pieces, each of which a writable pipe takes
//       without blocking (a blocking write that long is not atomic either).
//       SO_RCVTIMEO/SO_SNDTIMEO are honoured: after the timeout, -1/EAGAIN (or
//       the partial count), like the kernel. Calls passing MSG_DONTWAIT: real.
//   connect
//       The socket's O_NONBLOCK is set for the instant of the connect()
//       syscall and restored before the greenlet waits (the only place a flag
//       is flipped; no switch happens while it is set), then SO_ERROR gives
//       the result. SO_SNDTIMEO: -1/EINPROGRESS after it, like the kernel.
//   accept, accept4
//       poll-then-accept; SO_RCVTIMEO honoured (EAGAIN).
//   poll, ppoll, select
//       A zero-timeout real poll first; otherwise the greenlet waits on libev
//       watchers for every fd until one is ready or the timeout passes, then a
//       final zero-timeout real poll gives the result. ppoll's signal mask is
//       applied to those real polls only, not to the cooperative wait.
//       select() updates *timeout with the time left, as Linux does.
//   close, dup2, dup3
//       grove::notify_close(fd) first (greenlets waiting on it get EBADF at
//       once; a reused fd number never gets their stale wake-up), and greenlets
//       in poll/select on it wake up and see POLLNVAL; then the real call.
//   socket, socketpair, pipe, pipe2, dup, fcntl(F_SETFL), ioctl(FIONBIO),
//   setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)
//       Always the real call. grove never leaves O_NONBLOCK flipped, so the
//       kernel's flags and timeouts *are* the user's view; grove caches them
//       in a per-fd table (lib/hooks/fdtable.hpp) that these calls prime or
//       invalidate. getsockopt is not hooked: the kernel's answer is right.
//   getaddrinfo, getnameinfo, gethostbyname
//       The real call on grove::get_threadpool() (glibc's resolver makes its
//       own socket calls internally, where no hook can reach them).
//   waitpid, wait, wait3, wait4, waitid
//       The real call with WNOHANG; while nothing is ready the greenlet waits
//       on the child's pidfd, then asks again: the status is the kernel's, and
//       no child is reaped that the caller did not ask for. Any child (-1, a
//       process group, P_ALL) or WUNTRACED/WCONTINUED: the pidfds of every
//       current child, read again every 50 ms. WNOHANG: the real call.
//   system
//       /bin/sh -c via posix_spawn, waited for as above, with POSIX's signal
//       rules (SIGINT/SIGQUIT ignored, SIGCHLD blocked in the calling thread
//       while it runs) and status word. Interrupted: the shell is killed and
//       reaped, and system() fails with ECANCELED/ETIMEDOUT.
//   popen, pclose, fdopen
//       popen's stream, and fdopen's on a socket, pipe or tty, is an
//       fopencookie FILE* over the hooked read/write: fgets, fread, fprintf,
//       fflush cooperate; fileno() works; glibc's modes and buffering. pclose
//       waits as waitpid does. fdopen on anything else: the plain FILE*.
//       Inside stdio an interruption always fails the C way (the stream's
//       error flag), even under PropagateInterrupts: glibc holds the
//       stream's lock around the I/O.
//
//   pthread_mutex_*, pthread_rwlock_*, pthread_cond_*, sem_wait/timedwait/
//   clockwait/post, pthread_join, pthread_timedjoin_np, sched_yield, and
//   syscall(SYS_futex) for FUTEX_WAIT/WAIT_BITSET/WAKE/WAKE_BITSET
//       Thread primitives (std::mutex, condition_variable, shared_mutex,
//       future, thread::join, atomic::wait, latch, counting_semaphore...):
//       a greenlet waiting for one parks instead of sleeping in the kernel;
//       the real object stays the truth, so plain threads and greenlets
//       exclude each other. A kill/Timeout during these waits never throws
//       through a noexcept wait: see docs/legacy-code.md for what
//       each one returns and the state it leaves the lock in.
//
// Not reached by any hook (see docs/design.md, "What the hooks never see"):
// FILE* streams the hooks did not create (stdin, stdout, fopen, an fdopen
// before patch_all: glibc's stdio calls its internal read/write), static
// binaries, syscall() other than the futex operations above, io_uring.
// Signals: a handler that runs while the thread's main greenlet waits in a
// hooked call ends that call as signal(7) says (EINTR without SA_RESTART;
// always for poll/select/sleeps and sockets with SO_RCVTIMEO/SO_SNDTIMEO);
// other greenlets are never interrupted. docs/legacy-code.md, "Signals and EINTR".
//
// kill() and grove::Timeout: the choice
//   A kill or Timeout reaching a greenlet blocked in a hooked call cannot
//   safely throw through the caller's frames in general: legacy C libraries
//   (hiredis, libcurl, OpenSSL) are compiled without -fexceptions, so a C++
//   exception crossing them is undefined behaviour in the language and in
//   practice skips their cleanup (locks stay held, buffers half-parsed).
//   So, by default, the hooked call *fails*, the C way:
//     - grove::Timeout fired  -> -1 with errno ETIMEDOUT (the resolver: EAI_SYSTEM
//       with errno ETIMEDOUT; clock_nanosleep returns ETIMEDOUT). The
//       TimeoutError itself is consumed: the legacy code saw a timeout.
//     - kill (GreenletExit or any kill exception) -> -1 with errno ECANCELED
//       (clock_nanosleep returns ECANCELED). ECANCELED, not EINTR, because
//       C libraries retry EINTR, which would lose the kill. The kill stays
//       pending: every further hooked call of that greenlet that would block
//       fails with ECANCELED at once, and the kill exception is thrown at the
//       greenlet's next grove blocking call outside hooks (grove::sleep, a
//       join, a lock...) — the greenlet still dies, once it is back in
//       grove-aware code.
//   Code whose frames between the hook and grove are exception-safe C++ can
//   opt into propagation with a PropagateInterrupts scope: inside it, the kill
//   or TimeoutError is thrown out of the hooked call itself (gevent's
//   behaviour), unwinding the legacy C++ frames with their destructors.
#pragma once

namespace grove::monkey {

/// Turns the hooks on for every thread (idempotent). Safe from any thread,
/// before or after a hub exists. Env GROVE_PATCH_ALL=1 does the same at load.
void patch_all();

/// Turns them off again: every hooked call becomes the real call. Meant for
/// tests; greenlets already waiting inside a hooked call finish that call.
void unpatch_all();

/// Whether the hooks are on.
bool is_patched();

/// Whether the process actually interposes the hooks: false when another
/// library earlier in the lookup order defines read() etc. (diagnostics).
bool hooks_interposed();

/// RAII, for the current greenlet: while one exists, a kill or a Timeout that
/// interrupts a hooked call is thrown from that call (through the caller's
/// frames) instead of making it fail with ECANCELED/ETIMEDOUT. Only for code
/// whose frames are exception-safe C++. Nests. Create and destroy it in the
/// same greenlet; it never switches.
class PropagateInterrupts {
public:
    PropagateInterrupts();
    ~PropagateInterrupts();
    PropagateInterrupts(const PropagateInterrupts&) = delete;
    PropagateInterrupts& operator=(const PropagateInterrupts&) = delete;

private:
    const void* greenlet_;
};

/// Green-threads mode (grove-run --green-threads, GROVE_PATCH_THREADS=1):
/// while one exists on this OS thread, pthread_create (std::thread) makes
/// real OS threads again, e.g. for CPU-bound workers. Threads whose start
/// routine is named in GROVE_REAL_THREADS (comma-separated symbol names)
/// stay real too. Never switches.
class RealThreads {
public:
    RealThreads();
    ~RealThreads();
    RealThreads(const RealThreads&) = delete;
    RealThreads& operator=(const RealThreads&) = delete;
};

}  // namespace grove::monkey
