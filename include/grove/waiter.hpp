// grove — the one park/unpark primitive everything blocks through.
//
// Every blocking operation in grove (sleep, join, Timeout, the sync
// sublibrary, sockets, hooks) is built from the three pieces here:
//
//   Waiter    one blocking call of one greenlet: wait() parks it, wake() makes
//             it runnable again. Lives on the waiting greenlet's stack.
//   WaitNode  an intrusive link that puts a Waiter on one WaitList. Also on
//             the waiting greenlet's stack, declared after its Waiter.
//   WaitList  a FIFO of WaitNodes owned by the object being waited on.
//
// The "nothing lost" rule. wait() throws when the greenlet is killed or a
// grove::Timeout fires, and it may do so even after wake() was called (the
// wake-up and the kill landed in the same loop turn). A primitive that hands
// something to a waiter before waking it (an item, a permit, lock ownership)
// must therefore check `woken()` on the way out of an exception and pass what
// it handed over on (to the next waiter, or back to the front). See
// grove/sync for the pattern; every primitive does it in one place. When
// the wake-up itself is what cannot be undone (a putter whose item a getter
// took), the waker calls wake_final() instead: that wait then returns
// normally and the kill or Timeout is thrown at the next blocking point.
// Either way: delivered => returns normally; thrown => not delivered.
//
// All of this is single-threaded: a Waiter, WaitNode and WaitList belong to
// the thread whose hub they were created on. To wake a waiter from another
// OS thread, post to the hub with Hub::Remote (grove/hub.hpp).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include <grove/duration.hpp>

namespace grove {

class GreenletBase;
class Hub;
class Waiter;
class WaitList;

namespace detail {
/// Opaque room for one of the hub's timers inside objects that live in public
/// headers (lib/ static_asserts that it fits), so arming a timeout allocates
/// nothing. Sized to the timer exactly: it is in every Waiter and Timeout.
struct alignas(8) TimerSlot {
    unsigned char bytes[32];
};
struct Runtime;
/// What kind of wait a Waiter is, for the runtime's own diagnostics
/// (defined in lib/; a user's Waiter is always the default).
enum class WaitKind : unsigned char;
}  // namespace detail

/// Puts one Waiter on one WaitList. Unlinks itself on destruction, so leaving
/// a blocking call by any path (return, timeout, kill) leaves no stale entry.
class WaitNode {
public:
    /// A node for `waiter`, on no list yet (link it with WaitList::push_back).
    /// Non-copyable: lists point at it.
    explicit WaitNode(Waiter& waiter) noexcept;
    WaitNode(const WaitNode&) = delete;
    WaitNode& operator=(const WaitNode&) = delete;
    virtual ~WaitNode();

    /// Whether the node is on a list.
    bool linked() const noexcept { return list_ != nullptr; }
    /// Removes the node from its list, if it is on one.
    void unlink() noexcept;
    /// The Waiter this node wakes.
    Waiter& waiter() const noexcept { return *waiter_; }
    /// The list this node is on, or nullptr.
    WaitList* list() const noexcept { return list_; }

    /// Called (from WaitList::notify_*) after the node was unlinked. The
    /// default wakes the waiter; grove::iwait overrides it to record which
    /// object became ready.
    virtual void notify() noexcept;

private:
    friend class WaitList;
    WaitList* list_ = nullptr;
    WaitNode* prev_ = nullptr;
    WaitNode* next_ = nullptr;
    Waiter* waiter_;
};

/// A FIFO of waiting greenlets. Owned by the object waited on (an Event, a
/// Semaphore, a Greenlet's joiners...). Never switches.
class WaitList {
public:
    WaitList() noexcept;
    WaitList(const WaitList&) = delete;
    WaitList& operator=(const WaitList&) = delete;
    /// Unlinks any nodes still on the list; their waiters are not woken.
    ~WaitList();

    /// Whether no node is on the list; how many are; the first one (nullptr when empty).
    /// @{
    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }
    WaitNode* front() const noexcept { return head_; }
    /// @}

    /// Link `node` (which must be on no list) at the back or the front, or unlink it
    /// from this list. O(1); never switch.
    /// @{
    void push_back(WaitNode& node) noexcept;
    void push_front(WaitNode& node) noexcept;
    void remove(WaitNode& node) noexcept;
    /// @}

    /// Unlinks and returns the first node, or nullptr.
    WaitNode* pop_front() noexcept;

    /// Unlinks the first node and notifies it. Returns its waiter, or nullptr
    /// when the list was empty.
    Waiter* notify_one() noexcept;
    /// Unlinks and notifies every node on the list (including nodes that a
    /// notification adds while it runs: those are left for the next call).
    /// Returns how many were notified.
    std::size_t notify_all() noexcept;

private:
    WaitNode* head_ = nullptr;
    WaitNode* tail_ = nullptr;
    std::size_t size_ = 0;
};

/// One blocking call of the current greenlet.
///
/// Construct it in the greenlet that will wait (it binds to getcurrent()),
/// link it into the lists it waits on with WaitNodes, then call wait().
/// `what` and `object` describe the wait for diagnostics (LoopExit's message,
/// run-info dumps): e.g. `Waiter w{"Event", this}`.
class Waiter {
public:
    /// Binds to the current greenlet (getcurrent()) and its hub; `what` (a string
    /// literal: it is kept, not copied) and `object` describe the wait for LoopExit's
    /// message and run-info. Never switches.
    explicit Waiter(const char* what = "wait", const void* object = nullptr);
    Waiter(const Waiter&) = delete;
    Waiter& operator=(const Waiter&) = delete;
    ~Waiter();

    /// Parks the current greenlet until wake() or until `timeout` passes.
    /// Returns true if woken (at once, without switching, when wake() came
    /// first), false when the timeout passed (a timeout <= 0 returns false at
    /// once if not yet woken).
    ///
    /// May switch. Must be called by the greenlet that constructed the Waiter.
    /// Throws the greenlet's pending kill exception (GreenletExit by default)
    /// or a grove::Timeout's TimeoutError: then `woken()` may be true, see the
    /// "nothing lost" rule above. Throws LoopExit when nothing can ever wake it,
    /// std::logic_error when called from the hub (a libev or link callback),
    /// std::invalid_argument for a NaN timeout.
    bool wait(std::optional<Duration> timeout = {});
    /// wait() with an absolute deadline (nullopt: none); same contract.
    bool wait_until(std::optional<Deadline> deadline);

    /// Makes the waiting greenlet runnable (it resumes on a later hub turn,
    /// in FIFO order). Idempotent; a wake() that comes before wait() makes
    /// wait() return true at once. Never switches. Same thread only.
    void wake() noexcept;

    /// wake() for a wake-up that hands over what cannot be taken back (a
    /// putter's item that a getter took): from then on this wait has
    /// succeeded. A kill or grove::Timeout that reaches the greenlet before it
    /// resumes no longer interrupts it: wait() returns true, and the exception
    /// is thrown at the greenlet's next blocking point instead (in gevent the
    /// hub switches into such a waiter at once, so nothing comes in between).
    /// Never switches. Same thread only.
    void wake_final() noexcept {
        final_ = true;
        wake();
    }

    /// Whether wake() (or wake_final()) came: after an interrupted wait() this tells
    /// whether something was already handed over, to be passed on.
    bool woken() const noexcept { return woken_; }
    /// Woken by wake_final(): a kill or Timeout waits for the next blocking point.
    bool woken_final() const noexcept { return woken_ && final_; }
    /// Makes the Waiter reusable for another wait() by the same greenlet.
    void reset() noexcept { woken_ = final_ = false; }

    /// When false, an armed timeout of this waiter does not keep the loop
    /// alive (Hub::join's own deadline uses that). Default true.
    void set_keeps_loop_alive(bool on) noexcept { keeps_alive_ = on; }

    /// The greenlet that constructed it, and the wait's description.
    /// @{
    GreenletBase& greenlet() const noexcept { return *greenlet_; }
    const char* what() const noexcept { return what_; }
    const void* object() const noexcept { return object_; }
    /// @}

private:
    friend struct detail::Runtime;
    GreenletBase* greenlet_;
    Hub* hub_;
    const char* what_;
    const void* object_;
    bool woken_ = false;
    bool final_ = false;  // set by wake_final()
    bool timed_out_ = false;
    bool keeps_alive_ = true;
    detail::WaitKind kind_{};
    detail::TimerSlot timer_;
};

namespace detail {
/// Set once a compact greenlet is started on this thread. Until then nothing
/// running here can be compact, so running_compact() is one load.
[[gnu::tls_model("initial-exec")]] extern constinit thread_local bool t_compact_started;
/// running_compact() once a compact greenlet was started on this thread.
bool running_compact_slow() noexcept;
}  // namespace detail

/// Whether the running greenlet is compact (SpawnOptions::compact): a Waiter
/// or WaitNode on its stack keeps it from being copied out while it waits.
inline bool running_compact() noexcept { return detail::t_compact_started && detail::running_compact_slow(); }

/// The usual shape of one blocking call, a Waiter and one node for it, placed
/// where the running greenlet can wait best: on its stack, or on the heap when
/// it is compact, so that it is copied out while it waits (grove/sync waits
/// this way). `NodeArgs` follow the Waiter in the node's constructor:
///
///   WaitSite<> site("Event", this);
///   list.push_back(site.node());
///   site.waiter().wait(timeout);
template <class Node = WaitNode>
class WaitSite {
public:
    /// A Waiter(`what`, `object`) and its Node(waiter, `node_args`...), on the
    /// stack or the heap as above. Never switches.
    template <class... NodeArgs>
    explicit WaitSite(const char* what, const void* object, NodeArgs&&... node_args) {
        if (running_compact()) [[unlikely]]
            heap_.reset(new Both(what, object, static_cast<NodeArgs&&>(node_args)...));
        else
            local_.emplace(what, object, static_cast<NodeArgs&&>(node_args)...);
    }
    WaitSite(const WaitSite&) = delete;
    WaitSite& operator=(const WaitSite&) = delete;

    /// The Waiter (bound to the running greenlet), and the node that wakes it.
    /// @{
    Waiter& waiter() noexcept { return heap_ ? heap_->waiter : local_->waiter; }
    Node& node() noexcept { return heap_ ? heap_->node : local_->node; }
    /// @}
    /// Whether they are on the heap (the running greenlet is compact): then
    /// whatever else the waker reads must be off the stack too (a Queue
    /// putter moves its item into its node).
    bool on_heap() const noexcept { return heap_ != nullptr; }

private:
    struct Both {  // the node after its waiter: it unlinks before the waiter goes
        template <class... NodeArgs>
        Both(const char* what, const void* object, NodeArgs&&... node_args)
            : waiter(what, object), node(waiter, static_cast<NodeArgs&&>(node_args)...) {}
        Waiter waiter;
        Node node;
    };
    std::unique_ptr<Both> heap_;
    std::optional<Both> local_;
};

}  // namespace grove
