// libFuzzer harness over the sync primitives' operation sequences.
//
// The input bytes are a script: each op byte picks one of four actors
// (greenlets) and an operation on a shared Queue(2) / Semaphore(2) / Event /
// Lock, with its blocking mode, timeout and Timeout guard taken from the next
// byte; kill ops kill an actor at its current blocking point. After the script
// every actor is killed, and the conservation invariants are checked:
//   - every item put successfully was got exactly once or is still queued; an
//     interrupted put was got at most once; a refused one never;
//   - every Semaphore permit and the Lock are back; no waiter is registered;
//   - every actor is dead and no greenlet, stack or timer is left.
// A violation aborts (libFuzzer records the input).
//
// Built with clang -fsanitize=fuzzer,address under -Dfuzz=enabled. Without
// libFuzzer (GROVE_FUZZ_REPLAY) it is a replay program: each argument is a
// file whose bytes are run as one input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/sync/event.hpp>
#include <grove/sync/lock.hpp>
#include <grove/sync/queue.hpp>
#include <grove/sync/semaphore.hpp>
#include <grove/timeout.hpp>

#include "runtime.hpp"

namespace {

using namespace std::chrono_literals;

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "sync_fuzz: invariant violated: %s\n", what);
    std::abort();
}

#define FUZZ_CHECK(cond)              \
    do {                              \
        if (!(cond)) violated(#cond); \
    } while (0)

constexpr int kActors = 4;
constexpr int kPermits = 2;

enum class Put : std::uint8_t { Interrupted, Ok, Refused };

struct World {
    grove::Queue<int> queue{2};
    grove::Semaphore sem{kPermits};
    grove::Lock lock;
    grove::Event event;
    std::vector<Put> puts;
    std::vector<int> got;
    int sem_held = 0;
    int lock_held = 0;
    // Each actor's pending script: ops are appended by the driver.
    std::vector<std::vector<std::uint8_t>> scripts = std::vector<std::vector<std::uint8_t>>(kActors);
    std::vector<std::size_t> next = std::vector<std::size_t>(kActors, 0);
    grove::Event more[kActors];
};

std::optional<grove::Duration> timeout_of(std::uint8_t arg) {
    switch (arg & 3) {
        case 0:
            return std::nullopt;
        case 1:
            return grove::Duration::zero();
        default:
            return std::chrono::microseconds((arg >> 2) * 20);
    }
}

void run_one(World& w, std::uint8_t op, std::uint8_t arg) {
    const bool block = (arg & 0x80) == 0;
    std::optional<grove::Timeout> guard;
    if (arg & 0x40) guard.emplace(std::chrono::microseconds((arg & 0x3f) * 10));
    switch (op % 7) {
        case 0: {
            const int id = static_cast<int>(w.puts.size());
            w.puts.push_back(Put::Interrupted);
            w.got.push_back(0);
            try {
                w.queue.put(id, block, timeout_of(arg));
                w.puts[std::size_t(id)] = Put::Ok;
            } catch (const grove::QueueFull&) {
                w.puts[std::size_t(id)] = Put::Refused;
            }
            break;
        }
        case 1:
            try {
                ++w.got.at(std::size_t(w.queue.get(block, timeout_of(arg))));
            } catch (const grove::QueueEmpty&) {
            }
            break;
        case 2:
            if (w.sem.acquire(block, timeout_of(arg))) {
                struct Release {
                    World& w;
                    ~Release() {
                        --w.sem_held;
                        w.sem.release();
                    }
                } release{w};
                FUZZ_CHECK(++w.sem_held <= kPermits);
                grove::sleep(std::chrono::microseconds(arg & 0x3f));
            }
            break;
        case 3:
            if (w.lock.acquire(block, timeout_of(arg))) {
                struct Release {
                    World& w;
                    ~Release() {
                        --w.lock_held;
                        w.lock.release();
                    }
                } release{w};
                FUZZ_CHECK(++w.lock_held == 1);
                grove::sleep();
            }
            break;
        case 4:
            w.event.wait(timeout_of(arg));
            break;
        case 5:
            if (arg & 1)
                w.event.set();
            else
                w.event.clear();
            break;
        default:
            grove::sleep(std::chrono::microseconds(arg & 0x3f));
            break;
    }
}

void actor(World& w, int index) {
    auto& script = w.scripts[std::size_t(index)];
    auto& pos = w.next[std::size_t(index)];
    for (;;) {
        while (pos + 2 <= script.size()) {
            const std::uint8_t op = script[pos], arg = script[pos + 1];
            pos += 2;
            try {
                run_one(w, op, arg);
            } catch (const grove::TimeoutError&) {
            }
        }
        w.more[index].clear();
        w.more[index].wait();
    }
}

// Kills an actor; with `block`, until it is dead: a kill is never lost, even
// when it lands while a Timeout's error is still on its way.
void kill_actor(grove::GreenletBase& g, bool block) {
    g.kill({}, block, std::chrono::seconds(1));
    if (block) FUZZ_CHECK(g.dead());
}

void run_input(const std::uint8_t* data, std::size_t size) {
    {
        World w;
        std::vector<grove::Ref<grove::GreenletBase>> actors;
        for (int i = 0; i < kActors; ++i) actors.push_back(grove::spawn(actor, std::ref(w), i));
        // The driver: byte 0xF0..0xFF kills an actor (and respawns it), other
        // bytes hand an (op, arg) pair to the actor named by the op's top bits.
        for (std::size_t i = 0; i + 1 < size; i += 2) {
            const std::uint8_t op = data[i], arg = data[i + 1];
            const int who = (op >> 4) & (kActors - 1);
            if (op >= 0xF0) {
                kill_actor(*actors[std::size_t(who)], arg & 1);
                if (actors[std::size_t(who)]->dead()) {
                    w.next[std::size_t(who)] = w.scripts[std::size_t(who)].size();
                    actors[std::size_t(who)] = grove::spawn(actor, std::ref(w), who);
                }
            } else {
                w.scripts[std::size_t(who)].push_back(op);
                w.scripts[std::size_t(who)].push_back(arg);
                w.more[who].set();
            }
            if (arg & 0x20) grove::sleep();
        }
        grove::sleep(200us);
        for (auto& a : actors) kill_actor(*a, true);
        for (auto& a : actors) FUZZ_CHECK(a->dead());

        while (w.queue.qsize() > 0) ++w.got.at(std::size_t(w.queue.get_nowait()));
        for (std::size_t id = 0; id < w.puts.size(); ++id) {
            FUZZ_CHECK(w.got[id] <= 1);
            if (w.puts[id] == Put::Ok) FUZZ_CHECK(w.got[id] == 1);
            if (w.puts[id] == Put::Refused) FUZZ_CHECK(w.got[id] == 0);
        }
        FUZZ_CHECK(w.sem.counter() == kPermits);
        FUZZ_CHECK(w.sem.waiting() == 0);
        FUZZ_CHECK(!w.lock.locked());
        FUZZ_CHECK(w.lock.waiting() == 0);
        FUZZ_CHECK(w.queue.waiting_getters() == 0 && w.queue.waiting_putters() == 0);
        FUZZ_CHECK(w.event.waiters().empty());
        FUZZ_CHECK(w.sem_held == 0 && w.lock_held == 0);
    }
    auto* hub = grove::detail::HubImpl::current();
    for (int i = 0; i < 3; ++i) grove::sleep();
    FUZZ_CHECK(hub->live_count() == 0);
    FUZZ_CHECK(hub->stacks().in_use() == 1);
    FUZZ_CHECK(hub->poll_and_count_alive_watchers() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 4096) return -1;  // long scripts add time, not coverage
    run_input(data, size);
    return 0;
}

#if defined(GROVE_FUZZ_REPLAY)
#include <fstream>
#include <iterator>

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::ifstream f(argv[i], std::ios::binary);
        std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        std::printf("%s: ok\n", argv[i]);
    }
    return 0;
}
#endif
