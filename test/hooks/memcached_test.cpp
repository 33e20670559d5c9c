// Hooks: libmemcached's connection pool, unchanged — memcached_pool_pop with
// block=true waits on a pthread condvar for a free connection, and the
// connections do blocking I/O (poll) — from 40 greenlets over 3 connections,
// against a memcached this test starts on a free loopback port.
#include <signal.h>
#include <sys/wait.h>

#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/pool.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>

#include "hooks_support.hpp"
#include "local_server.hpp"

namespace grove::test {
namespace {

/// The memcached the tests talk to.
struct MemcachedServer : LocalServer {
    MemcachedServer()
        : LocalServer("GROVE_TEST_MEMCACHED", {"-p", "{port}", "-l", "127.0.0.1", "-U", "0", "-t", "2", "-u", "root"}) {
    }
};

class Memcached : public Hooked {
protected:
    static void SetUpTestSuite() { server_ = new MemcachedServer; }
    static void TearDownTestSuite() { delete server_; }
    void SetUp() override {
        if (!server_->up()) GTEST_SKIP() << "memcached not found or did not start";
        Hooked::SetUp();
    }
    static MemcachedServer* server_;
};
MemcachedServer* Memcached::server_ = nullptr;

TEST_F(Memcached, PoolServesFortyGreenletsOverThreeConnections) {
    constexpr int kGreenlets = 40, kRounds = 25;
    memcached_st* master = memcached_create(nullptr);
    ASSERT_EQ(memcached_server_add(master, "127.0.0.1", static_cast<in_port_t>(server_->port())), MEMCACHED_SUCCESS);
    memcached_pool_st* pool = memcached_pool_create(master, 1, 3);
    ASSERT_NE(pool, nullptr);

    bool stop = false;
    int ticks = 0;
    auto ticker = grove::spawn([&] {
        while (!stop) {
            grove::sleep(Duration(0.01));
            ++ticks;
        }
    });
    int ok = 0, bad = 0, checked_out = 0, max_checked_out = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < kGreenlets; ++i)
        gs.push_back(grove::spawn([&, i] {
            for (int r = 0; r < kRounds; ++r) {
                memcached_return_t rc;
                memcached_st* mc = memcached_pool_pop(pool, true, &rc);
                if (!mc || rc != MEMCACHED_SUCCESS) {
                    ++bad;
                    continue;
                }
                max_checked_out = std::max(max_checked_out, ++checked_out);
                const std::string key = "grove:" + std::to_string(i) + ":" + std::to_string(r);
                const std::string value = std::to_string(i * 1000 + r);
                rc = memcached_set(mc, key.data(), key.size(), value.data(), value.size(), 0, 0);
                size_t len = 0;
                uint32_t flags = 0;
                char* got =
                    rc == MEMCACHED_SUCCESS ? memcached_get(mc, key.data(), key.size(), &len, &flags, &rc) : nullptr;
                if (got && rc == MEMCACHED_SUCCESS && std::string(got, len) == value)
                    ++ok;
                else
                    ++bad;
                std::free(got);
                --checked_out;
                EXPECT_EQ(memcached_pool_push(pool, mc), MEMCACHED_SUCCESS);
            }
        }));
    joinall(gs);
    stop = true;
    ticker->join();
    EXPECT_EQ(ok, kGreenlets * kRounds);
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(max_checked_out, 3);  // more greenlets than connections: they waited in the pool
    EXPECT_GE(ticks, 1);
    EXPECT_EQ(memcached_pool_destroy(pool), master);
    memcached_free(master);
}

}  // namespace
}  // namespace grove::test
