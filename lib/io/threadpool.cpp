// grove internal — ThreadPool: a FIFO of jobs, lazily started workers, and
// completions posted back to each submitter's hub.
//
// Ownership of a job in flight (Task):
//   submit()  on the hub thread: takes a reference on the hub's loop (the hub
//             stays busy, as with a Hub::KeepAlive) and the hub's Remote,
//             queues the Task under `mutex`;
//   worker    pops it, runs `job` unlocked, then posts `done` to the Remote;
//   hub       runs the posted callback: drops the loop reference, calls `done`.
// If the hub was destroyed meanwhile, post() fails: the reference died with the
// loop, and the worker destroys the callback without running it. The reference
// is a count on the loop, not an object, so nothing is left to free.
#include <grove/io/threadpool.hpp>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <grove/config.hpp>
#include <grove/hub.hpp>
#include <grove/waiter.hpp>

#include "../core/runtime.hpp"
#include "../core/plain_calls.hpp"

namespace grove {
namespace {

struct Task {
    std::function<void()> job;
    std::function<void()> done;
    std::shared_ptr<Hub::Remote> remote;
};

/// The hub of the calling thread stays busy until release_hub() on that thread.
void hold_hub(Hub& hub) noexcept { static_cast<detail::HubImpl&>(hub).event_loop().hold(); }
void release_hub() noexcept { detail::HubImpl::get().event_loop().release(); }

void run_job(Task& t) noexcept {
    try {
        t.job();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "grove: ThreadPool job threw %s\n", e.what());
    } catch (...) {
        std::fputs("grove: ThreadPool job threw a non-std exception\n", stderr);
    }
    t.job = nullptr;  // its captures die here, on the worker
    const bool posted = t.remote->post([done = std::move(t.done)] {
        release_hub();
        done();
    });
    (void)posted;  // false: the hub is gone, and with it its loop's reference
}

// What join() waits for: the jobs this thread submitted to a pool and whose
// `done` has not run yet. Per thread, because `done` runs on the submitter's
// hub; the entry goes away when the count drops to zero.
struct Joiners {
    std::size_t in_flight = 0;
    WaitList waiters;
};
thread_local std::unordered_map<const ThreadPool*, Joiners> t_joiners;

void job_finished(const ThreadPool* pool) noexcept {
    auto it = t_joiners.find(pool);
    if (it == t_joiners.end()) return;
    if (--it->second.in_flight > 0) return;
    it->second.waiters.notify_all();
    if (it->second.waiters.empty()) t_joiners.erase(it);
}

}  // namespace

struct ThreadPool::Impl {
    explicit Impl(std::size_t n) : size(n) {}

    void worker() {
        std::unique_lock<std::mutex> lock(mutex);
        for (;;) {
            ++idle;
            cv.wait(lock, [this] { return stopping || !queue.empty(); });
            --idle;
            if (queue.empty()) return;  // stopping, and nothing left to run
            Task t = std::move(queue.front());
            queue.pop_front();
            lock.unlock();
            run_job(t);
            lock.lock();
        }
    }

    const std::size_t size;
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<Task> queue;            // guarded by mutex
    std::vector<std::thread> threads;  // guarded by mutex; grows up to `size`
    std::size_t idle = 0;              // workers parked on cv; guarded by mutex
    bool stopping = false;             // guarded by mutex
};

ThreadPool::ThreadPool(std::size_t threads) {
    if (threads == 0) throw std::invalid_argument("grove::ThreadPool: zero threads");
    impl_ = std::make_unique<Impl>(threads);
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->cv.notify_all();
    detail::PlainCalls plain;  // never a cooperative join through grove-hooks (see plain_calls.hpp)
    for (auto& t : impl_->threads) t.join();
}

std::size_t ThreadPool::size() const noexcept { return impl_->size; }

void ThreadPool::submit(std::function<void()> job, std::function<void()> done) {
    Hub& hub = get_hub();
    ++t_joiners[this].in_flight;
    struct Undo {  // a submit that throws never counts
        const ThreadPool* pool;
        bool armed = true;
        ~Undo() {
            if (armed) job_finished(pool);
        }
    } undo{this};
    auto counted = [this, done = std::move(done)] {
        struct Finish {
            const ThreadPool* pool;
            ~Finish() { job_finished(pool); }
        } finish{this};
        done();
    };
    Task t{std::move(job), std::move(counted), hub.remote()};
    std::unique_lock<std::mutex> lock(impl_->mutex);
    if (impl_->stopping) throw std::logic_error("grove::ThreadPool::submit: the pool is being destroyed");
    impl_->queue.push_back(std::move(t));
    if (impl_->queue.size() > impl_->idle && impl_->threads.size() < impl_->size) {
        try {
            impl_->threads.emplace_back([impl = impl_.get()] { impl->worker(); });
        } catch (...) {
            if (impl_->threads.empty()) {  // nobody could ever run it
                impl_->queue.pop_back();
                throw;
            }
        }
    }
    hold_hub(hub);  // nothing can throw past here
    lock.unlock();
    undo.armed = false;
    impl_->cv.notify_one();
}

bool ThreadPool::join(std::optional<Duration> timeout) {
    const auto deadline = detail::deadline_after(timeout, "ThreadPool::join");
    while (true) {
        auto it = t_joiners.find(this);
        if (it == t_joiners.end() || it->second.in_flight == 0) return true;
        WaitSite<> site("ThreadPool::join", this);  // on the heap for a compact greenlet
        it->second.waiters.push_back(site.node());
        if (!site.waiter().wait_until(deadline)) return false;
    }
}

ThreadPool& get_threadpool() {
    thread_local std::unique_ptr<ThreadPool> pool;
    if (!pool) pool = std::make_unique<ThreadPool>(config::current().threadpool_size);
    return *pool;
}

}  // namespace grove
