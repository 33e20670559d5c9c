// Hooks: what kill() and grove::Timeout do to a greenlet inside a hooked call
// (the choice documented in <grove/monkey.hpp>).
#include <thread>

#include <grove/greenlet.hpp>
#include <grove/timeout.hpp>

#include "hooks_support.hpp"

namespace grove::test {
namespace {

using namespace std::chrono_literals;
using Hooks = Hooked;

struct Pair {
    int a = -1, b = -1;
    Pair() {
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        a = sv[0];
        b = sv[1];
    }
    ~Pair() {
        ::close(a);
        ::close(b);
    }
};

TEST_F(Hooks, TimeoutMakesTheHookedCallFailWithEtimedout) {
    Pair p;
    Timeout t(grove::Duration(0.05));
    char c;
    errno = 0;
    EXPECT_EQ(::read(p.a, &c, 1), -1);
    EXPECT_EQ(errno, ETIMEDOUT);
    grove::sleep(grove::Duration(0.06));  // the consumed TimeoutError is not thrown later
}

TEST_F(Hooks, TimeoutPropagatesInsidePropagateInterrupts) {
    Pair p;
    monkey::PropagateInterrupts scope;
    Timeout t(grove::Duration(0.05));
    char c;
    EXPECT_THROW((void)::read(p.a, &c, 1), TimeoutError);
}

TEST_F(Hooks, KillFailsTheCallWithEcanceledThenEndsTheGreenletAtItsNextGroveWait) {
    Pair p;
    ssize_t first = 0, second = 0;
    int err1 = 0, err2 = 0;
    bool after_sleep = false;
    auto g = grove::spawn([&] {
        char c;
        first = ::read(p.a, &c, 1);
        err1 = errno;
        second = ::recv(p.a, &c, 1, 0);  // a C library retrying: fails at once, no wait
        err2 = errno;
        grove::sleep(grove::Duration(10));  // grove-aware code: the kill lands here
        after_sleep = true;
    });
    grove::sleep(grove::Duration(0.01));
    const auto start = std::chrono::steady_clock::now();
    g->kill();
    print_elapsed("kill -> greenlet dead", since(start));
    EXPECT_TRUE(g->dead());
    EXPECT_LT(since(start), 1.0);
    EXPECT_EQ(first, -1);
    EXPECT_EQ(err1, ECANCELED);
    EXPECT_EQ(second, -1);
    EXPECT_EQ(err2, ECANCELED);
    EXPECT_FALSE(after_sleep);
    EXPECT_TRUE(g->successful());  // ended by GreenletExit
}

TEST_F(Hooks, KillPropagatesInsidePropagateInterrupts) {
    Pair p;
    bool unwound = false;
    auto g = grove::spawn([&] {
        struct Mark {
            bool& b;
            ~Mark() { b = true; }
        } mark{unwound};
        monkey::PropagateInterrupts scope;
        std::this_thread::sleep_for(10s);
    });
    grove::sleep(grove::Duration(0.01));
    g->kill();
    EXPECT_TRUE(g->dead());
    EXPECT_TRUE(unwound);
}

}  // namespace
}  // namespace grove::test
