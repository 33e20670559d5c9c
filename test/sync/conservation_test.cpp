// The "nothing lost" invariant under fire: 200 greenlets put, get, acquire
// and release at random, with random timeouts, random grove::Timeout guards
// and a killer greenlet killing workers at random moments. Afterwards every
// item is accounted for exactly once, every permit is back, no waiter is left
// registered and no greenlet is alive. Seeded: GROVE_TEST_SEED reproduces a run.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/sync/channel.hpp>
#include <grove/sync/queue.hpp>
#include <grove/sync/semaphore.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;
using Conservation = grove::test::LeakChecked;

namespace {

enum class PutStatus { None, Ok, Refused, Interrupted };

struct World {
    static constexpr int kPermits = 3;
    static constexpr int kIdsPerWorker = 64;
    grove::Queue<int> queue{4};
    grove::Channel<int> channel;
    grove::Semaphore sem{kPermits};
    int in_use = 0;
    int max_in_use = 0;
    std::vector<PutStatus> put_status;
    std::vector<int> got_count;
    explicit World(int workers)
        : put_status(std::size_t(workers) * kIdsPerWorker, PutStatus::None),
          got_count(std::size_t(workers) * kIdsPerWorker, 0) {}
};

std::optional<grove::Duration> random_timeout(std::mt19937& rng) {
    switch (rng() % 4) {
        case 0:
            return std::nullopt;
        case 1:
            return 0s;
        default:
            return std::chrono::microseconds(rng() % 1500);
    }
}

template <class Q>
void do_put(World& w, Q& q, int id, std::mt19937& rng) {
    try {
        q.put(id, rng() % 5 != 0, random_timeout(rng));
        w.put_status[id] = PutStatus::Ok;
    } catch (const grove::QueueFull&) {
        w.put_status[id] = PutStatus::Refused;
    } catch (...) {
        w.put_status[id] = PutStatus::Interrupted;  // thrown => not delivered
        throw;
    }
}

template <class Q>
void do_get(World& w, Q& q, std::mt19937& rng) {
    try {
        ++w.got_count.at(q.get(rng() % 5 != 0, random_timeout(rng)));
    } catch (const grove::QueueEmpty&) {
    }
}

void do_acquire(World& w, std::mt19937& rng) {
    if (!w.sem.acquire(rng() % 5 != 0, random_timeout(rng))) return;
    struct Release {
        World& w;
        ~Release() {
            --w.in_use;
            w.sem.release();
        }
    } release{w};
    w.max_in_use = std::max(w.max_in_use, ++w.in_use);
    grove::sleep(std::chrono::microseconds(rng() % 300));
}

void worker(World& w, int index, unsigned seed) {
    std::mt19937 rng(seed);
    int next_id = index * World::kIdsPerWorker;
    for (int op = 0; op < World::kIdsPerWorker; ++op) {
        try {
            std::optional<grove::Timeout> guard;
            if (rng() % 6 == 0) guard.emplace(std::chrono::microseconds(rng() % 800));
            switch (rng() % 5) {
                case 0:
                    do_put(w, w.queue, next_id++, rng);
                    break;
                case 1:
                    do_get(w, w.queue, rng);
                    break;
                case 2:
                    do_put(w, w.channel, next_id++, rng);
                    break;
                case 3:
                    do_get(w, w.channel, rng);
                    break;
                default:
                    do_acquire(w, rng);
                    break;
            }
        } catch (const grove::TimeoutError&) {
        }
        if (rng() % 3 == 0) grove::sleep();
    }
}

unsigned test_seed() {
    if (const char* s = std::getenv("GROVE_TEST_SEED")) return static_cast<unsigned>(std::stoul(s));
    return std::random_device{}();
}

template <class Q>
void drain(World& w, Q& q) {
    while (true) {
        try {
            ++w.got_count.at(q.get_nowait());
        } catch (const grove::QueueEmpty&) {
            return;
        }
    }
}

}  // namespace

TEST_F(Conservation, RandomKillsAndTimeoutsLoseNoItemPermitOrWaiter) {
    const unsigned seed = test_seed();
    RecordProperty("seed", std::to_string(seed));
    std::cout << "GROVE_TEST_SEED=" << seed << '\n';
    std::mt19937 rng(seed);

    constexpr int kWorkers = 200;
    World w(kWorkers);
    std::vector<grove::Ref<grove::GreenletBase>> workers;
    for (int i = 0; i < kWorkers; ++i) workers.push_back(grove::spawn(worker, std::ref(w), i, unsigned(rng())));

    auto killer = grove::spawn([&] {
        for (int round = 0; round < 300; ++round) {
            grove::sleep(std::chrono::microseconds(rng() % 200));
            auto& victim = workers[rng() % workers.size()];
            if (!victim->dead()) victim->kill({}, false);
        }
    });
    killer->join();
    grove::joinall(workers, 100ms);
    grove::killall(workers);

    drain(w, w.queue);
    drain(w, w.channel);
    for (std::size_t id = 0; id < w.put_status.size(); ++id) {
        SCOPED_TRACE("item " + std::to_string(id) + ", seed " + std::to_string(seed));
        switch (w.put_status[id]) {
            case PutStatus::Ok:
                EXPECT_EQ(w.got_count[id], 1) << "a put item must be got exactly once";
                break;
            case PutStatus::Interrupted:
                EXPECT_EQ(w.got_count[id], 0) << "a put that threw must not have put its item";
                break;
            default:
                EXPECT_EQ(w.got_count[id], 0) << "an item never put must never be got";
                break;
        }
    }
    EXPECT_LE(w.max_in_use, World::kPermits);
    EXPECT_EQ(w.in_use, 0);
    EXPECT_EQ(w.sem.counter(), World::kPermits) << "permits lost or created";
    EXPECT_EQ(w.sem.waiting(), 0u);
    EXPECT_EQ(w.queue.waiting_getters() + w.queue.waiting_putters(), 0u);
    EXPECT_EQ(w.channel.waiting_getters() + w.channel.waiting_putters(), 0u);
    for (auto& g : workers) EXPECT_TRUE(g->dead());
}
