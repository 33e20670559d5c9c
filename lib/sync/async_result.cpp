// grove-sync — AsyncResultBase: readiness, waiting, cross-thread delivery.
//
// Threads: the outcome (value_/error_) is written once under mutex_ before
// ready_ is released; readers acquire ready_ and then read without the lock.
// Waiters and the WaitList belong to the owning thread; another thread never
// touches them, it posts the wake-up to the owning hub. The posted callback
// reaches this object through Anchor, which the destructor clears on the
// owning thread (the only thread that runs the callback), so a result that
// is gone by then is simply skipped.
#include <stdexcept>
#include <string>

#include <grove/sync/async_result.hpp>

namespace grove {

struct AsyncResultBase::Anchor {
    AsyncResultBase* target;
};

AsyncResultBase::AsyncResultBase(bool cross_thread)
    : cross_thread_(cross_thread),
      owner_thread_(std::this_thread::get_id()),
      remote_(get_hub().remote()),
      anchor_(std::make_shared<Anchor>(Anchor{this})) {}

AsyncResultBase::~AsyncResultBase() { anchor_->target = nullptr; }

void AsyncResultBase::already_set(const char* call) {
    throw std::logic_error(std::string("grove::AsyncResult::") + call + ": the result is already set");
}

void AsyncResultBase::set_exception(std::exception_ptr e) {
    if (!e)
        e = std::make_exception_ptr(std::invalid_argument("grove::AsyncResult::set_exception: empty exception_ptr"));
    complete([&] { error_ = std::move(e); }, "set_exception");
}

void AsyncResultBase::publish() {
    if (std::this_thread::get_id() == owner_thread_) {
        notify_ready();
        return;
    }
    remote_->post([anchor = anchor_] {
        if (anchor->target) anchor->target->notify_ready();
    });
}

bool AsyncResultBase::wait(std::optional<Duration> timeout) {
    if (ready()) return true;
    WaitSite<> site("AsyncResult", this);
    waiters().push_back(site.node());
    std::optional<Hub::KeepAlive> keep;
    if (cross_thread_) keep.emplace();
    site.waiter().wait(timeout);
    return ready();
}

void AsyncResultBase::await_for_get(bool block, std::optional<Duration> timeout) {
    if (!ready()) {
        if (!block) throw TimeoutError(0, "grove::AsyncResult::get: not ready");
        if (!wait(timeout)) throw TimeoutError(0, "grove::AsyncResult::get: timed out");
    }
    if (error_) std::rethrow_exception(error_);
}

}  // namespace grove
