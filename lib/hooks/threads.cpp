// grove-hooks — green threads (grove-run --green-threads, GROVE_PATCH_THREADS=1):
// pthread_create spawns a greenlet on the creating thread's hub instead of an
// OS thread, as gevent's patch_thread makes threading.Thread a greenlet.
//
// A green thread's pthread_t is its GreenThread record's address with the
// low bit set (real pthread_t values are aligned pointers): the hooks below
// tell them apart by that bit, and hand real ones to libc untouched.
// pthread_join/detach/self/exit/getattr_np/setname_np/getname_np and the key
// functions know green threads (pthread_equal needs nothing: libc compares
// the values, and green ones are distinct); other pthread calls given a green
// pthread_t are not supported (docs/legacy-code.md, "Green threads").
//
// Real threads stay real: calls from grove's own libraries (the thread pool),
// threads whose start routine is named in GROVE_REAL_THREADS (comma-separated
// symbol names), threads created inside a grove::monkey::RealThreads scope,
// and threads created where no hub can cooperate (another OS thread, the hub).
#include "threads.hpp"

#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/monkey.hpp>

#include "green.hpp"
#include "runtime.hpp"
#include "state.hpp"

namespace grove::hooks::threads {
namespace {

using detail::Runtime;

struct GreenThread {
    void* (*start)(void*) = nullptr;
    void* arg = nullptr;
    void* result = nullptr;
    std::atomic<bool> done{false};
    bool detached = false;  // owner's thread only, as everything below
    Ref<GreenletBase> greenlet;
    std::vector<void*> specific;  // pthread keys, per green thread
    std::string name;

    pthread_t handle() const noexcept { return reinterpret_cast<std::uintptr_t>(this) | 1u; }
};

/// pthread_exit() in a green thread: unwinds its stack to the greenlet's body.
struct ThreadExit {
    void* value;
};

std::atomic<int> g_enabled{0};  // 0 unread, 1 off, 2 on
constinit thread_local int t_real_scope = 0;
thread_local std::unordered_map<const GreenletBase*, GreenThread*> t_green;  // greenlet → its record

using Destructor = void (*)(void*);
std::atomic<Destructor> g_destructors[PTHREAD_KEYS_MAX];

bool is_green(pthread_t t) noexcept { return (t & 1u) != 0; }
GreenThread* record(pthread_t t) noexcept { return reinterpret_cast<GreenThread*>(t & ~std::uintptr_t{1}); }

/// The green thread running now on this OS thread, if any.
GreenThread* current() noexcept {
    if (t_green.empty()) return nullptr;
    detail::HubImpl* hub = detail::HubImpl::current();
    if (!hub) return nullptr;
    auto it = t_green.find(hub->current_greenlet());
    return it == t_green.end() ? nullptr : it->second;
}

template <class F>
F next(const char* name) {
    return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

struct RealFns {
    int (*create)(pthread_t*, const pthread_attr_t*, void* (*)(void*),
                  void*) = next<decltype(create)>("pthread_create");
    int (*detach)(pthread_t) = next<decltype(detach)>("pthread_detach");
    pthread_t (*self)() = next<decltype(self)>("pthread_self");
    void (*exit)(void*) = next<decltype(exit)>("pthread_exit");
    int (*getattr)(pthread_t, pthread_attr_t*) = next<decltype(getattr)>("pthread_getattr_np");
    int (*setname)(pthread_t, const char*) = next<decltype(setname)>("pthread_setname_np");
    int (*getname)(pthread_t, char*, size_t) = next<decltype(getname)>("pthread_getname_np");
    int (*key_create)(pthread_key_t*, Destructor) = next<decltype(key_create)>("pthread_key_create");
    int (*key_delete)(pthread_key_t) = next<decltype(key_delete)>("pthread_key_delete");
    void* (*getspecific)(pthread_key_t) = next<decltype(getspecific)>("pthread_getspecific");
    int (*setspecific)(pthread_key_t, const void*) = next<decltype(setspecific)>("pthread_setspecific");
};

const RealFns& real() {
    static const RealFns fns;
    return fns;
}

/// POSIX: up to PTHREAD_DESTRUCTOR_ITERATIONS rounds over the non-null values.
void run_key_destructors(GreenThread& gt) {
    for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; ++round) {
        bool any = false;
        for (std::size_t k = 0; k < gt.specific.size(); ++k) {
            void* v = gt.specific[k];
            Destructor d = g_destructors[k].load(std::memory_order_acquire);
            if (!v || !d) continue;
            gt.specific[k] = nullptr;
            any = true;
            d(v);
        }
        if (!any) return;
    }
}

bool named_real(void* (*start)(void*)) {
    static const char* list = std::getenv("GROVE_REAL_THREADS");
    if (!list || !*list) return false;
    Dl_info info{};
    if (!dladdr(reinterpret_cast<void*>(start), &info) || !info.dli_sname) return false;
    const std::size_t len = std::strlen(info.dli_sname);
    for (const char* p = list; *p;) {
        const char* end = std::strchr(p, ',');
        const std::size_t n = end ? static_cast<std::size_t>(end - p) : std::strlen(p);
        if (n == len && std::strncmp(p, info.dli_sname, n) == 0) return true;
        if (!end) break;
        p = end + 1;
    }
    return false;
}

/// The requested stack size, or 0 for grove's default when the attribute
/// leaves it at the process default (8 MiB stacks would defeat the point).
std::size_t requested_stack(const pthread_attr_t* attr) {
    if (!attr) return 0;
    std::size_t size = 0;
    if (pthread_attr_getstacksize(attr, &size) != 0) return 0;
    pthread_attr_t defaults;
    std::size_t default_size = 0;
    if (pthread_getattr_default_np(&defaults) == 0) {
        pthread_attr_getstacksize(&defaults, &default_size);
        pthread_attr_destroy(&defaults);
    }
    return size == default_size ? 0 : size;
}

void finish(GreenThread* gt) {
    run_key_destructors(*gt);
    t_green.erase(gt->greenlet.get());
    gt->done.store(true, std::memory_order_release);
    if (gt->detached) {
        // Freed after the body returns: the greenlet's Ref is dropped by the hub later.
        detail::HubImpl::current()->run_callback([gt] { delete gt; });
    }
}

}  // namespace

bool enabled() noexcept {
    int v = g_enabled.load(std::memory_order_acquire);
    if (v == 0) {
        const char* e = std::getenv("GROVE_PATCH_THREADS");
        v = (e && *e && std::strcmp(e, "0") != 0) ? 2 : 1;
        g_enabled.store(v, std::memory_order_release);
    }
    return v == 2;
}

bool join_green(pthread_t t, void** ret, int& rc) {
    if (!is_green(t)) return false;
    GreenThread* gt = record(t);
    if (gt == current()) {
        rc = EDEADLK;
        return true;
    }
    if (gt->detached) {
        rc = EINVAL;
        return true;
    }
    detail::HubImpl* hub = detail::HubImpl::current();
    if (hub && Runtime::record(*gt->greenlet).hub == hub) {
        try {
            while (!gt->greenlet->join()) {
            }
        } catch (...) {
            // pthread_join is never interrupted: a kill stays pending (monkey.hpp) and the join goes on.
            (void)interrupted();
            while (!gt->done.load(std::memory_order_acquire)) {
                try {
                    gt->greenlet->join();
                } catch (...) {
                }
            }
        }
    } else {
        // Another OS thread: the record is only read once done.
        while (!gt->done.load(std::memory_order_acquire)) {
            timespec ms{0, 1000000};
            nanosleep(&ms, nullptr);
        }
    }
    if (ret) *ret = gt->result;
    delete gt;
    rc = 0;
    return true;
}

}  // namespace grove::hooks::threads

namespace grove::monkey {
RealThreads::RealThreads() { ++hooks::threads::t_real_scope; }
RealThreads::~RealThreads() { --hooks::threads::t_real_scope; }
}  // namespace grove::monkey

using namespace grove::hooks::threads;

extern "C" {

int pthread_create(pthread_t* out, const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
    const RealFns& r = real();
    if (!enabled() || t_real_scope > 0 || grove::hooks::green::inside() ||
        grove::hooks::green::from_grove(__builtin_return_address(0)) || !grove::hooks::cooperative() ||
        named_real(start) || grove::hooks::ensure_hub() != 0)
        return r.create(out, attr, start, arg);
    int detach_state = PTHREAD_CREATE_JOINABLE;
    if (attr) pthread_attr_getdetachstate(attr, &detach_state);
    auto* gt = new (std::nothrow) GreenThread;
    if (!gt) return EAGAIN;
    gt->start = start;
    gt->arg = arg;
    gt->detached = detach_state == PTHREAD_CREATE_DETACHED;
    try {
        grove::SpawnOptions options;
        options.stack_size = requested_stack(attr);
        gt->greenlet = grove::spawn_with(std::move(options), [gt] {
            try {
                gt->result = gt->start(gt->arg);
            } catch (const ThreadExit& e) {
                gt->result = e.value;
            } catch (...) {
                finish(gt);
                throw;  // GreenletExit (hub teardown) or an error: grove reports it
            }
            finish(gt);
        });
        t_green[gt->greenlet.get()] = gt;
    } catch (...) {
        delete gt;
        return EAGAIN;
    }
    *out = gt->handle();
    return 0;
}

int pthread_detach(pthread_t t) noexcept {
    if (!is_green(t)) return real().detach(t);
    GreenThread* gt = record(t);
    if (gt->detached) return EINVAL;
    gt->detached = true;
    if (gt->done.load(std::memory_order_acquire)) delete gt;
    return 0;
}

pthread_t pthread_self() noexcept {
    if (GreenThread* gt = enabled() ? current() : nullptr) return gt->handle();
    return real().self();
}

void pthread_exit(void* value) {
    if (enabled() && current()) throw ThreadExit{value};
    real().exit(value);
    __builtin_unreachable();
}

int pthread_getattr_np(pthread_t t, pthread_attr_t* attr) noexcept {
    if (!is_green(t)) return real().getattr(t, attr);
    GreenThread* gt = record(t);
    int rc = pthread_attr_init(attr);
    if (rc) return rc;
    const auto& ctx = Runtime::record(*gt->greenlet).ctx;
    if (ctx.stack_base && ctx.stack_size) {
        pthread_attr_setstack(attr, ctx.stack_base, ctx.stack_size);
    }
    pthread_attr_setdetachstate(attr, gt->detached ? PTHREAD_CREATE_DETACHED : PTHREAD_CREATE_JOINABLE);
    return 0;
}

int pthread_setname_np(pthread_t t, const char* name) noexcept {
    if (!is_green(t)) return real().setname(t, name);
    if (std::strlen(name) > 15) return ERANGE;
    try {
        record(t)->name = name;
    } catch (...) {
        return ENOMEM;
    }
    return 0;
}

int pthread_getname_np(pthread_t t, char* buf, size_t len) noexcept {
    if (!is_green(t)) return real().getname(t, buf, len);
    const std::string& n = record(t)->name;
    if (len < n.size() + 1) return ERANGE;
    std::memcpy(buf, n.c_str(), n.size() + 1);
    return 0;
}

int pthread_key_create(pthread_key_t* key, void (*destructor)(void*)) noexcept {
    const int rc = real().key_create(key, destructor);
    if (rc == 0 && *key < PTHREAD_KEYS_MAX) g_destructors[*key].store(destructor, std::memory_order_release);
    return rc;
}

int pthread_key_delete(pthread_key_t key) noexcept {
    if (key < PTHREAD_KEYS_MAX) g_destructors[key].store(nullptr, std::memory_order_release);
    return real().key_delete(key);
}

void* pthread_getspecific(pthread_key_t key) noexcept {
    GreenThread* gt = enabled() ? current() : nullptr;
    if (!gt) return real().getspecific(key);
    return key < gt->specific.size() ? gt->specific[key] : nullptr;
}

int pthread_setspecific(pthread_key_t key, const void* value) noexcept {
    GreenThread* gt = enabled() ? current() : nullptr;
    if (!gt) return real().setspecific(key, value);
    if (key >= PTHREAD_KEYS_MAX) return EINVAL;
    try {
        if (gt->specific.size() <= key) gt->specific.resize(key + 1, nullptr);
    } catch (...) {
        return ENOMEM;
    }
    gt->specific[key] = const_cast<void*>(value);
    return 0;
}

}  // extern "C"
