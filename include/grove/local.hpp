// grove — grove::local<T>: greenlet-local storage (gevent.local).
//
//   grove::local<std::string> request_id;            // one object, shared by all
//   grove::spawn([&] { *request_id = "a"; ... });    // each greenlet sees its own
//   grove::spawn([&] { request_id->empty(); });      // true: a fresh value here
//
// Why it exists: `thread_local` is per OS *thread*, and every greenlet of a
// thread runs on that thread. A `thread_local` variable is therefore ONE
// variable shared by all the greenlets of the thread, and it changes under a
// greenlet whenever it blocks (sleep, recv, join...) and another greenlet runs.
// Legacy code that keeps "the current request" or "the current transaction"
// in a `thread_local` (or errno-like globals) is correct with one request per
// thread and wrong under greenlets. grove::local gives each greenlet its own
// value instead. (errno and the C++ exception state are the exception: grove
// itself saves and restores them per greenlet.)
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <utility>

namespace grove {

namespace detail {
/// Bookkeeping of one grove::local: which greenlets hold a value of it
/// (lib/core/local_storage.cpp). Opaque; lives until the local and every value
/// made by it are gone.
struct LocalRegistry;
LocalRegistry* local_register();
/// Destroys every value the local still holds, then lets the registry go.
void local_unregister(LocalRegistry* reg) noexcept;
/// The calling greenlet's value of `reg`, or null if it has none yet.
void* local_find(const LocalRegistry* reg);
/// Gives the calling greenlet's slot the value `value` (owned from then on:
/// `destroy(value)` ends it). Returns `value`. May throw std::bad_alloc, in
/// which case `destroy(value)` has already been called.
void* local_insert(LocalRegistry* reg, void* value, void (*destroy)(void*) noexcept);
}  // namespace detail

/// Per-greenlet storage: every greenlet (the thread's main greenlet too, and
/// the hub while it runs callbacks) sees its own T.
///
/// - Lazy: a greenlet's value is built on its first access to it, by `T()` or
///   by the factory given to the constructor (called once per greenlet, in
///   that greenlet: like gevent.local's __init__, run again per greenlet).
///   A greenlet that never touches the local costs nothing.
/// - A greenlet's value is destroyed when that greenlet dies — returns,
///   throws or is killed — on its own thread and stack, after its body has
///   unwound and before anyone joining it resumes. The main greenlet's and
///   the hub's values are destroyed by Hub::destroy() (so at thread exit).
///   Destructors of T must not block: a kill arriving there would escape a
///   destructor.
/// - Destroying the local destroys every value it still holds at once, on
///   the calling thread — values of greenlets of other threads too, so those
///   greenlets must be done with it. A local may die before or after the
///   greenlets that used it.
/// - Access is a lookup in the calling greenlet's hash table (one per
///   greenlet that has values): bench/core_bench.cpp measures it.
/// - get() never switches unless the factory (or T's constructor) does; if
///   that throws (a kill included), no value is stored and the next access
///   tries again.
/// - The object itself is not copyable or movable (its address is its key).
template <class T>
class local {
public:
    /// Each greenlet's value starts as `T()`.
    local() requires std::default_initializable<T> : reg_(detail::local_register()) {}
    /// Each greenlet's value starts as `make()`, called in that greenlet.
    explicit local(std::function<T()> make) : reg_(detail::local_register()), make_(std::move(make)) {}
    ~local() { detail::local_unregister(reg_); }

    local(const local&) = delete;
    local& operator=(const local&) = delete;

    /// The calling greenlet's value, built now if it has none.
    T& get() {
        if (void* p = detail::local_find(reg_)) [[likely]]
            return *static_cast<T*>(p);
        return make_value();
    }
    /// get(): the calling greenlet's value.
    /// @{
    T& operator*() { return get(); }
    T* operator->() { return &get(); }
    /// @}

private:
    static void destroy(void* p) noexcept { delete static_cast<T*>(p); }

    T& make_value() {
        T* value;
        if constexpr (std::default_initializable<T>)
            value = make_ ? new T(make_()) : new T();
        else
            value = new T(make_());  // the constructor without a factory needs a default-constructible T
        return *static_cast<T*>(detail::local_insert(reg_, value, &local::destroy));
    }

    detail::LocalRegistry* reg_;
    std::function<T()> make_;
};

}  // namespace grove
