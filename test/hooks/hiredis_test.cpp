// Hooks: hiredis's blocking API (redisCommand), unchanged, in 200 greenlets
// against a redis-server this test starts on a free loopback port.
#include <signal.h>
#include <sys/wait.h>

#include <hiredis.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>

#include "hooks_support.hpp"
#include "local_server.hpp"

namespace grove::test {
namespace {

/// The redis-server the tests talk to.
struct RedisServer : LocalServer {
    RedisServer()
        : LocalServer("GROVE_TEST_REDIS_SERVER", {"--port", "{port}", "--bind", "127.0.0.1", "--save", "",
                                                  "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"}) {
    }
};

class Hiredis : public Hooked {
protected:
    static void SetUpTestSuite() { server_ = new RedisServer; }
    static void TearDownTestSuite() { delete server_; }
    void SetUp() override {
        if (!server_->up()) GTEST_SKIP() << "redis-server not found or did not start";
        Hooked::SetUp();
    }
    static RedisServer* server_;
};
RedisServer* Hiredis::server_ = nullptr;

struct Context {
    redisContext* c;
    explicit Context(int port) : c(redisConnect("127.0.0.1", port)) {}
    ~Context() { redisFree(c); }
    bool ok() const { return c && !c->err; }
};

TEST_F(Hiredis, TwoHundredBlockingBlpopsFinishInAboutOneWait) {
    const auto start = std::chrono::steady_clock::now();
    int nil_replies = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < 200; ++i) {
        gs.push_back(grove::spawn([&, i] {
            Context ctx(server_->port());
            ASSERT_TRUE(ctx.ok());
            auto* r = static_cast<redisReply*>(redisCommand(ctx.c, "BLPOP grove:empty:%d 0.2", i));
            ASSERT_NE(r, nullptr);
            if (r->type == REDIS_REPLY_NIL || (r->type == REDIS_REPLY_ARRAY && r->elements == 0)) ++nil_replies;
            freeReplyObject(r);
        }));
    }
    joinall(gs);
    const double t = since(start);
    print_elapsed("200 x BLPOP 0.2 s", t);
    EXPECT_EQ(nil_replies, 200);
    EXPECT_GE(t, 0.19);
    EXPECT_LT(t, 4.0);  // 40 s one after another
}

TEST_F(Hiredis, TwoHundredGreenletsInterleaveGetSetRoundTrips) {
    // 500 SET+GET pairs: 1,000 blocking round trips per greenlet.
    constexpr int kGreenlets = 200, kRounds = 500;
    const auto start = std::chrono::steady_clock::now();
    int mismatches = 0, done = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < kGreenlets; ++i) {
        gs.push_back(grove::spawn([&, i] {
            Context ctx(server_->port());
            ASSERT_TRUE(ctx.ok());
            for (int j = 0; j < kRounds; ++j) {
                const std::string value = std::to_string(i) + ":" + std::to_string(j);
                auto* s = static_cast<redisReply*>(redisCommand(ctx.c, "SET grove:k:%d %s", i, value.c_str()));
                ASSERT_NE(s, nullptr);
                freeReplyObject(s);
                auto* g = static_cast<redisReply*>(redisCommand(ctx.c, "GET grove:k:%d", i));
                ASSERT_NE(g, nullptr);
                if (g->type != REDIS_REPLY_STRING || value != std::string(g->str, g->len)) ++mismatches;
                freeReplyObject(g);
            }
            ++done;
        }));
    }
    joinall(gs);
    print_elapsed("200 greenlets x 1,000 round trips (500 SET+GET)", since(start));
    EXPECT_EQ(done, kGreenlets);
    EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace grove::test
