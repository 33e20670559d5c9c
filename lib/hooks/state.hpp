// grove-hooks internal — when a hook cooperates, and what an interrupted
// cooperative wait turns into (the kill/Timeout policy of <grove/monkey.hpp>).
#pragma once

#include <cerrno>
#include <optional>

#include <grove/duration.hpp>

namespace grove {
class GreenletBase;
namespace detail {
class HubImpl;
}
}  // namespace grove

namespace grove::hooks {

/// Whether patch_all() (or GROVE_PATCH_ALL=1, read on first use) is in effect.
bool patched() noexcept;

/// True when a hooked call made now should cooperate: patched, not inside a
/// signal handler (signals.hpp), and this thread has a hub and the caller is
/// not the hub — or this thread has none yet but gets one on demand
/// (mark_auto_hub_thread). Never creates a hub.
bool cooperative() noexcept;

/// Marks the calling thread as getting a hub on its first cooperative wait
/// (grove-run's main thread: launch.cpp). Until then, and in a program that
/// never waits, nothing is made. Off again once the thread's exit begins
/// tearing its hub down, so exit-time code gets the plain calls.
void mark_auto_hub_thread() noexcept;

/// Makes sure this thread has a hub before a cooperative wait; 0, or the
/// errno to fail the call with when one cannot be made (ENOMEM...).
int ensure_hub() noexcept;

/// A kill was turned into ECANCELED earlier and is still undelivered: hooked
/// calls of this greenlet that would block fail at once (see monkey.hpp).
bool kill_pending() noexcept;

/// Call from a `catch (...)` around a grove blocking call made by a hook.
/// Returns the errno the hooked call reports: the code of a std::system_error
/// (EBADF after notify_close), ETIMEDOUT for a grove::Timeout, ECANCELED for
/// a kill (which stays pending, see monkey.hpp), EDEADLK for LoopExit,
/// ENOMEM for bad_alloc. Rethrows instead under PropagateInterrupts, unless
/// `may_propagate` is false (a hook called back from inside libc, such as a
/// stdio cookie function, where nothing may unwind through libc's frames).
int interrupted(bool may_propagate = true);

/// After an interrupt was put back for the running greenlet (a kill turned
/// into ECANCELED, an interrupt a hook held): wakes it once it parks in its
/// next grove wait, where the interrupt is thrown (a hub callback runs only
/// after the greenlet yields). May throw std::bad_alloc.
void wake_at_next_wait(detail::HubImpl& hub, GreenletBase& g);

enum class Dir { Read, Write };

/// Waits until `fd` is ready for `dir`, or until `deadline` (SO_RCVTIMEO /
/// SO_SNDTIMEO; nullopt: none). Returns 0 when ready (or to try again after
/// a signal handler with SA_RESTART ran), EAGAIN when the deadline passed,
/// EINTR when a signal interrupted the main greenlet's wait and the call is
/// not restarted (signals.hpp: a handler without SA_RESTART, or a socket
/// with a timeout), else interrupted()'s errno. May switch. Call it only right
/// after a non-blocking try on `fd` said EAGAIN (or EINPROGRESS...), with no
/// switch in between: `fd` is then open, and is not probed again.
int wait_fd(int fd, Dir dir, std::optional<Deadline> deadline);

/// Deadline `us` microseconds from now (0: none).
std::optional<Deadline> deadline_in_us(long long us) noexcept;

/// Sets errno to `err` and returns -1 (the C failure convention).
inline int fail(int err) noexcept {
    errno = err;
    return -1;
}

}  // namespace grove::hooks
