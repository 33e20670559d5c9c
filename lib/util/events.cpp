// grove internal — grove::events: subscriber lists and firing.
//
// One registry per event type. Its list is copy-on-write: firing takes a
// snapshot under the mutex and calls outside it, so a callback may subscribe
// or unsubscribe (itself included) without deadlock, and the spawn/death
// paths of other threads never wait for a slow callback. Registries are never
// destroyed: a Subscription in a static object may outlive them otherwise.
#include <grove/events.hpp>

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include <spdlog/spdlog.h>

#include <grove/greenlet.hpp>

#include "../core/report.hpp"
#include "../core/observer.hpp"
#include "observe.hpp"

namespace grove::events {

struct Subscription::Token {
    virtual ~Token() = default;
    virtual void remove() noexcept = 0;
};

Subscription& Subscription::operator=(Subscription&& other) noexcept {
    if (this != &other) {
        reset();
        token_ = std::move(other.token_);
    }
    return *this;
}

Subscription::~Subscription() { reset(); }

void Subscription::reset() noexcept {
    if (token_) token_->remove();
    token_.reset();
}

namespace {

void report_callback_error(const char* event) noexcept {
    try {
        auto e = std::current_exception();
        detail::report_error(std::string("grove::events callback for ") + event, e, detail::take_throw_trace(e));
    } catch (...) {
    }
}

template <class E>
class Registry {
public:
    using Callback = std::function<void(const E&)>;

    Registry(const char* name, std::atomic<bool>* any) : name_(name), any_(any) {}

    Subscription add(Callback callback) {
        if (!callback) throw std::invalid_argument("grove::events::subscribe: empty callback");
        auto entry = std::make_shared<Entry>(this, std::move(callback));
        const std::lock_guard lock(mutex_);
        auto next = std::make_shared<List>(list_ ? *list_ : List{});
        next->push_back(entry);
        publish(std::move(next));
        return Subscription(std::move(entry));
    }

    void fire(const E& event) noexcept {
        std::shared_ptr<const List> snapshot;
        {
            const std::lock_guard lock(mutex_);
            snapshot = list_;
        }
        if (!snapshot) return;
        for (const auto& entry : *snapshot) {
            if (!entry->active.load(std::memory_order_acquire)) continue;
            try {
                entry->callback(event);
            } catch (...) {
                report_callback_error(name_);
            }
        }
    }

private:
    struct Entry final : Subscription::Token {
        Entry(Registry* r, Callback cb) : registry(r), callback(std::move(cb)) {}
        void remove() noexcept override { registry->remove(this); }
        Registry* registry;
        Callback callback;
        std::atomic<bool> active{true};
    };
    using List = std::vector<std::shared_ptr<Entry>>;

    // Inactive at once; dropped from the list when memory allows.
    void remove(Entry* entry) noexcept {
        entry->active.store(false, std::memory_order_release);
        const std::lock_guard lock(mutex_);
        if (!list_) return;
        try {
            auto next = std::make_shared<List>();
            for (const auto& e : *list_)
                if (e.get() != entry) next->push_back(e);
            publish(std::move(next));
        } catch (...) {
        }
    }

    void publish(std::shared_ptr<List> next) noexcept {
        const bool any = !next->empty();
        list_ = std::move(next);
        if (any_) any_->store(any, std::memory_order_relaxed);
    }

    const char* name_;
    std::atomic<bool>* any_;
    std::mutex mutex_;
    std::shared_ptr<const List> list_;  // guarded by mutex_; replaced, never modified
};

template <class E>
Registry<E>& registry();

template <>
Registry<GreenletSpawned>& registry() {
    static auto* r = new Registry<GreenletSpawned>("GreenletSpawned", &detail::g_observe_spawns);
    return *r;
}
template <>
Registry<GreenletDied>& registry() {
    static auto* r = new Registry<GreenletDied>("GreenletDied", &detail::g_observe_deaths);
    return *r;
}
template <>
Registry<EventLoopBlocked>& registry() {
    static auto* r = new Registry<EventLoopBlocked>("EventLoopBlocked", nullptr);
    return *r;
}
template <>
Registry<MemoryUsageThresholdExceeded>& registry() {
    static auto* r = new Registry<MemoryUsageThresholdExceeded>("MemoryUsageThresholdExceeded", nullptr);
    return *r;
}

}  // namespace

Subscription subscribe(std::function<void(const GreenletSpawned&)> callback) {
    return registry<GreenletSpawned>().add(std::move(callback));
}
Subscription subscribe(std::function<void(const GreenletDied&)> callback) {
    return registry<GreenletDied>().add(std::move(callback));
}
Subscription subscribe(std::function<void(const EventLoopBlocked&)> callback) {
    return registry<EventLoopBlocked>().add(std::move(callback));
}
Subscription subscribe(std::function<void(const MemoryUsageThresholdExceeded&)> callback) {
    return registry<MemoryUsageThresholdExceeded>().add(std::move(callback));
}

}  // namespace grove::events

namespace grove::detail {

void fire_spawned(GreenletBase& greenlet, GreenletBase& parent) noexcept {
    events::registry<events::GreenletSpawned>().fire(events::GreenletSpawned{greenlet, parent});
}

void fire_died(GreenletBase& greenlet) noexcept {
    events::registry<events::GreenletDied>().fire(events::GreenletDied{greenlet});
}

void fire_loop_blocked(const events::EventLoopBlocked& event) noexcept {
    events::registry<events::EventLoopBlocked>().fire(event);
}

void fire_memory_exceeded(const events::MemoryUsageThresholdExceeded& event) noexcept {
    events::registry<events::MemoryUsageThresholdExceeded>().fire(event);
}

}  // namespace grove::detail
