// grove — greenlets: spawn, join, kill, get, links, and the free functions
// that every green thread uses (sleep, idle, getcurrent, joinall, killall).
//
// A greenlet is a stackful green thread. It belongs to the hub of the thread
// that starts it, runs only when every other greenlet of that thread has given
// up control at a blocking call, and is never migrated between threads. Using
// a greenlet from another thread than its own is a std::logic_error.
#pragma once

#include <cstddef>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <grove/detail/describe.hpp>
#include <grove/detail/greenlet_alloc.hpp>
#include <grove/duration.hpp>
#include <grove/exceptions.hpp>
#include <grove/wait.hpp>

namespace grove {

/// Shared owning handle to a greenlet. Copyable, comparable, converts to
/// Ref<Base>. The hub also keeps every started greenlet alive until it dies,
/// so dropping the last Ref of a running greenlet is fine (fire and forget).
template <class T>
using Ref = std::shared_ptr<T>;

class GreenletBase;
class Hub;
namespace detail {
struct SpawnAccess;
struct Runtime;
struct GreenletRecord;
}  // namespace detail

/// Per-greenlet options for spawn_with() and GreenletBase::set_options().
struct SpawnOptions {
    /// Usable stack bytes; 0 means the default (env GROVE_STACK_SIZE, else
    /// 128 KiB; ×4 under AddressSanitizer). Rounded up to whole pages.
    std::size_t stack_size = 0;
    /// The greenlet's name (GreenletBase::name()); empty: "Greenlet-<ident>".
    std::string name;
    /// Compact mode, for greenlets that spend their life parked (a million idle
    /// connections): while it waits, its used stack is copied to the heap and
    /// the stack's pages go back to the kernel, so an idle compact greenlet costs
    /// the bytes its stack really holds (~1 KB asleep) instead of a page or more.
    /// Each park and resume then costs a copy, a page fault and a madvise (a few
    /// µs: bench/RESULTS.md), so leave it off for greenlets that switch often.
    /// Empty: the hub's default (Hub::set_compact_default, off).
    ///
    /// The rule: while a compact greenlet waits, nothing may read or write its
    /// stack. A wait that has grove objects on that stack (a Waiter, WaitNode,
    /// WaitList, Timeout, hence any grove Event, Lock, Queue...) keeps it in place,
    /// so grove never breaks the rule itself; what it cannot see is a pointer of
    /// your own to a local of a waiting compact greenlet, given to another
    /// greenlet or thread. Such an access reads zeros and its writes are lost
    /// (AddressSanitizer reports it). grove::sleep, join, the fd waits and the
    /// grove/sync Event, AsyncResult, Semaphore, Lock, Group and queues are
    /// built to let a compact greenlet go while it waits.
    std::optional<bool> compact = std::nullopt;  // initialized: {size, name} stays warning-free
};

/// The non-template base of every greenlet (gevent.Greenlet without the
/// value type). All members are for the owning thread only.
class GreenletBase : public Waitable, public std::enable_shared_from_this<GreenletBase> {
public:
    GreenletBase(const GreenletBase&) = delete;
    GreenletBase& operator=(const GreenletBase&) = delete;
    ~GreenletBase() override;

    /// Schedules the greenlet to run on a later hub turn (never inline).
    /// A second start() is a no-op. Never switches. Must be owned by a Ref.
    void start();
    /// Like start(), but the body begins after `delay`.
    void start_later(Duration delay);

    /// Waits until the greenlet is dead or `timeout` passes; returns dead().
    /// May switch. Joining yourself, or a greenlet of another thread, throws
    /// std::logic_error. Joining a greenlet that was never started waits for
    /// someone to start it (as gevent does). Interrupted by kill/Timeout.
    bool join(std::optional<Duration> timeout = {});

    /// Raises `e` (empty: GreenletExit) inside the greenlet at its blocking
    /// point when it next resumes. A greenlet that has not begun never runs:
    /// it is dead at once with `e` as its outcome. Killing a dead greenlet is
    /// a no-op; a kill while another is still undelivered keeps the first.
    /// Killing yourself throws `e` here, at once. With `block`, waits for death
    /// (up to `timeout`; a greenlet that swallows the exception outlives it).
    void kill(std::exception_ptr e = {}, bool block = true, std::optional<Duration> timeout = {});

    /// start() (or spawn, or a kill before start) has been called. Stays true
    /// after death, as in gevent: it says the greenlet was set going, not that
    /// it is running now (that is `started() && !dead()`).
    bool started() const noexcept;
    /// Same as dead(): the greenlet's outcome is known.
    bool ready() const noexcept override { return dead(); }
    /// The greenlet has finished (returned, thrown, or killed); never false again.
    /// Never switches.
    bool dead() const noexcept;
    /// Ended without an error (a GreenletExit end counts as successful).
    bool successful() const noexcept;
    /// The error that ended it; empty while alive, on success and on GreenletExit.
    std::exception_ptr exception() const noexcept;

    /// Identifies a link for unlink().
    using LinkId = std::uint64_t;
    /// A link callback: called with the dead greenlet, from the hub (it must not block).
    using LinkCallback = std::function<void(GreenletBase&)>;
    /// Calls `cb(*this)` once, from the hub, after death (at once on the next
    /// hub turn if already dead). Callbacks must not block (std::logic_error);
    /// one that throws is reported and the other links still run.
    LinkId link(LinkCallback cb);
    /// Like link(), only if the greenlet ends successfully.
    LinkId link_value(LinkCallback cb);
    /// Like link(), only if the greenlet ends with an error.
    LinkId link_exception(LinkCallback cb);
    /// Removes a link that has not run yet; returns whether it was there.
    bool unlink(LinkId id);

    /// The greenlet's name; "Greenlet-<minimal_ident>" until set.
    std::string name() const;
    /// Sets the name shown by name(), describe() and run-info dumps. Never switches.
    void set_name(std::string name);
    /// A small number unique among this process's greenlets (1, 2, 3...).
    std::uint64_t minimal_ident() const;

    /// The text used in error reports (gevent's __str__), e.g.
    /// `<Greenlet at 0x55d3c2a0: divide(int, int)(1, 0)>`. Override to customise.
    virtual std::string describe() const;

    /// Sets options before start(); std::logic_error once started.
    void set_options(SpawnOptions options);

    /// The hub this greenlet runs on (null before start()).
    Hub* hub() const noexcept;

protected:
    GreenletBase();
    /// Runs the body and stores its result (Greenlet<R> implements it).
    virtual void run_body() = 0;
    /// What follows "at 0x...: " in describe(); empty for none.
    virtual std::string describe_target() const { return {}; }
    /// The class name describe() starts with.
    virtual std::string describe_class() const;

private:
    friend struct detail::Runtime;
    friend struct detail::SpawnAccess;
    template <class R>
    friend class Greenlet;
    /// start() with the owning Ref already in hand (spawn has it): no
    /// weak_from_this().lock(), which is an atomic compare-and-swap.
    void start_owned(std::shared_ptr<GreenletBase> self);
    /// Everything the runtime keeps about this greenlet (lib/core/greenlet_record.hpp):
    /// private to the library, so that it can change without breaking users' ABI.
    detail::GreenletRecord* record_;
};

namespace detail {
/// How spawn() starts the greenlet it just made.
struct SpawnAccess {
    static void start(std::shared_ptr<GreenletBase> self) {
        GreenletBase& g = *self;
        g.start_owned(std::move(self));
    }
};
}  // namespace detail

/// What get() returns: the value, or the GreenletExit that ended the greenlet
/// ("returned as if it were returned", as gevent's get does).
template <class R>
class Outcome;

template <class R = void>
class Greenlet;

template <class R>
class Outcome {
public:
    /// Whether the greenlet ended by GreenletExit (a kill) instead of returning; exit()
    /// is that exception (empty otherwise).
    /// @{
    bool exited() const noexcept { return static_cast<bool>(exit_); }
    std::exception_ptr exit() const noexcept { return exit_; }
    /// @}

    /// The return value; rethrows the GreenletExit if exited().
    R& value() const {
        if (exit_) std::rethrow_exception(exit_);
        return *owner_->result_;
    }
    /// value(): `*outcome`, `outcome->member`.
    /// @{
    R& operator*() const { return value(); }
    R* operator->() const { return &value(); }
    /// @}

private:
    friend class Greenlet<R>;
    Outcome(Ref<Greenlet<R>> owner, std::exception_ptr exit) : owner_(std::move(owner)), exit_(std::move(exit)) {}
    Ref<Greenlet<R>> owner_;  // keeps the value alive; value() refers into it
    std::exception_ptr exit_;
};

template <>
/// What get() returns for a Greenlet<void>: whether it ended by GreenletExit, and that
/// exception.
class Outcome<void> {
public:
    /// Whether the greenlet ended by GreenletExit (a kill) instead of returning; exit()
    /// is that exception (empty otherwise).
    /// @{
    bool exited() const noexcept { return static_cast<bool>(exit_); }
    std::exception_ptr exit() const noexcept { return exit_; }
    /// @}

private:
    friend class Greenlet<void>;
    explicit Outcome(std::exception_ptr exit) : exit_(std::move(exit)) {}
    std::exception_ptr exit_;
};

namespace detail {
/// Waits for `g` as get() does; returns its GreenletExit (or empty) or throws.
std::exception_ptr get_outcome(GreenletBase& g, bool block, std::optional<Duration> timeout);
}  // namespace detail

/// A greenlet whose body returns R. Subclass it and override run(), or let
/// spawn() supply a callable.
template <class R>
class Greenlet : public GreenletBase {
public:
    /// The body. The default throws std::logic_error (nothing to run).
    virtual R run() { throw std::logic_error("grove::Greenlet::run() not overridden and no callable given"); }

    /// Waits for the outcome: returns it, rethrows the greenlet's error, or
    /// (not ready and not blocking, or timed out) throws TimeoutError.
    Outcome<R> get(bool block = true, std::optional<Duration> timeout = {}) {
        auto exit = detail::get_outcome(*this, block, timeout);
        if constexpr (std::is_void_v<R>) {
            return Outcome<void>(std::move(exit));
        } else {
            return Outcome<R>(std::static_pointer_cast<Greenlet<R>>(shared_from_this()), std::move(exit));
        }
    }

    /// The value once dead and successful (not exited), else null.
    template <class U = R, class = std::enable_if_t<!std::is_void_v<U>>>
    const U* value() const noexcept {
        return result_ ? &*result_ : nullptr;
    }

protected:
    void run_body() final {
        if constexpr (std::is_void_v<R>)
            run();
        else
            result_.emplace(run());
    }

private:
    friend class Outcome<R>;
    struct NoValue {};
    std::conditional_t<std::is_void_v<R>, NoValue, std::optional<std::conditional_t<std::is_void_v<R>, int, R>>>
        result_;
};

namespace detail {

/// The greenlet spawn() makes: runs `f(args...)`, describes itself by them.
template <class R, class F, class... Args>
class CallableGreenlet final : public Greenlet<R> {
public:
    template <class G, class... A>
    explicit CallableGreenlet(G&& f, A&&... args) : f_(std::forward<G>(f)), args_(std::forward<A>(args)...) {}

    R run() override {
        // Arguments are passed as lvalues when the callable accepts that, so
        // describe() still shows them after a failure; move-only ones are moved.
        if constexpr (std::is_invocable_v<F&, Args&...>)
            return std::apply(f_, args_);
        else
            return std::apply(std::move(f_), std::move(args_));
    }

protected:
    std::string describe_target() const override { return describe_call(f_, args_); }
    std::string describe_class() const override { return "Greenlet"; }

private:
    F f_;
    std::tuple<Args...> args_;
};

template <class F, class... Args>
using spawn_result_t = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;

template <class F, class... Args>
auto make_callable(F&& f, Args&&... args) {
    using R = spawn_result_t<F, Args...>;
    using G = CallableGreenlet<R, std::decay_t<F>, std::decay_t<Args>...>;
    return std::allocate_shared<G>(GreenletAllocator<G>{}, std::forward<F>(f), std::forward<Args>(args)...);
}

}  // namespace detail

/// Constructs a greenlet subclass, not started: `auto g = make<MyGreenlet>(a, b); g->start();`
template <class T, class... CtorArgs>
Ref<T> make(CtorArgs&&... args) {
    static_assert(std::is_base_of_v<GreenletBase, T>, "grove::make<T>: T must derive from grove::Greenlet<R>");
    return std::allocate_shared<T>(detail::GreenletAllocator<T>{}, std::forward<CtorArgs>(args)...);
}

/// Creates a greenlet running `f(args...)` and starts it: it runs on a later
/// hub turn, never inline. Arguments are decay-copied, as by std::thread.
template <class F, class... Args>
Ref<Greenlet<detail::spawn_result_t<F, Args...>>> spawn(F&& f, Args&&... args) {
    auto g = detail::make_callable(std::forward<F>(f), std::forward<Args>(args)...);
    detail::SpawnAccess::start(g);
    return g;
}

/// spawn() with options (stack size, name).
template <class F, class... Args>
Ref<Greenlet<detail::spawn_result_t<F, Args...>>> spawn_with(SpawnOptions options, F&& f, Args&&... args) {
    auto g = detail::make_callable(std::forward<F>(f), std::forward<Args>(args)...);
    g->set_options(std::move(options));
    detail::SpawnAccess::start(g);
    return g;
}

/// spawn(), with the body starting after `delay`.
template <class F, class... Args>
Ref<Greenlet<detail::spawn_result_t<F, Args...>>> spawn_later(Duration delay, F&& f, Args&&... args) {
    auto g = detail::make_callable(std::forward<F>(f), std::forward<Args>(args)...);
    g->start_later(delay);
    return g;
}

/// Waits for every greenlet (or until `timeout`); returns the dead ones, in
/// input order. Waits on all at once (as gevent's iwait): with `raise_error`,
/// the first greenlet to die of an error (first in time, not in the list) has
/// its error rethrown as soon as it dies, and joinall stops waiting. May
/// switch; kill/Timeout interrupt it. A null Ref is std::invalid_argument; the
/// calling greenlet itself, or one of another thread, std::logic_error.
std::vector<Ref<GreenletBase>> joinall(const std::vector<Ref<GreenletBase>>& greenlets,
                                       std::optional<Duration> timeout = {}, bool raise_error = false);

/// Kills every greenlet with `e` (empty: GreenletExit) but the caller, which
/// is skipped. With `block`, waits for all of them to die: up to `timeout`,
/// then throws TimeoutError (from no guard) if any is still alive, as gevent's
/// killall raises Timeout. Null Refs are std::invalid_argument (nobody killed).
void killall(const std::vector<Ref<GreenletBase>>& greenlets, std::exception_ptr e = {}, bool block = true,
             std::optional<Duration> timeout = {});

namespace detail {
/// A range of greenlet Refs as a user holds them (a std::vector or std::span
/// of Ref<Greenlet<R>>, a std::array, a std::list...), other than the
/// std::vector<Ref<GreenletBase>> that joinall/killall take as they are.
template <class Range>
concept GreenletRefRange = std::ranges::input_range<const Range> &&
    std::convertible_to<std::ranges::range_reference_t<const Range>, Ref<GreenletBase>> &&
    !std::same_as<std::remove_cvref_t<Range>, std::vector<Ref<GreenletBase>>>;

template <class Range>
std::vector<Ref<GreenletBase>> base_refs(const Range& greenlets) {
    std::vector<Ref<GreenletBase>> out;
    for (auto&& g : greenlets) out.push_back(g);
    return out;
}
}  // namespace detail

/// joinall() over any range of greenlet Refs; returns the dead ones as the
/// range holds them (a vector of Ref<Greenlet<int>> gives Ref<Greenlet<int>>s).
template <detail::GreenletRefRange Range>
auto joinall(const Range& greenlets, std::optional<Duration> timeout = {}, bool raise_error = false) {
    const auto done = joinall(detail::base_refs(greenlets), timeout, raise_error);
    // `done` is a subsequence of the input, in input order.
    std::vector<std::ranges::range_value_t<const Range>> out;
    out.reserve(done.size());
    std::size_t next = 0;
    for (auto&& g : greenlets)
        if (next < done.size() && done[next].get() == &*g) {
            out.push_back(g);
            ++next;
        }
    return out;
}

/// killall() over any range of greenlet Refs.
template <detail::GreenletRefRange Range>
void killall(const Range& greenlets, std::exception_ptr e = {}, bool block = true,
             std::optional<Duration> timeout = {}) {
    killall(detail::base_refs(greenlets), std::move(e), block, timeout);
}

/// Sleeps `d` cooperatively. `d <= 0` yields: every other ready greenlet runs
/// once before this one resumes. Interrupted by kill/Timeout. `d` counts from
/// grove::now() read at the call (as gevent's sleep updates the loop's time
/// first), so it never ends early, however long this greenlet ran before.
void sleep(Duration d = Duration::zero());

/// Resumes when the hub has nothing else to do (no ready greenlet, no pending
/// event).
void idle();

/// The running greenlet (the thread's main greenlet when no other runs).
GreenletBase* getcurrent();

}  // namespace grove
