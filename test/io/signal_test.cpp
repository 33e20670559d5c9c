// grove io — signal_handler() and reinit() after fork().
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/io.hpp>

#include "io_test_util.hpp"
#include "leak_check.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;

class SignalHandlerTest : public test::LeakChecked {};

TEST_F(SignalHandlerTest, RunsTheHandlerInANewGreenlet) {
    int runs = 0;
    GreenletBase* where = nullptr;
    auto handler = signal_handler(SIGUSR2, [&] {
        grove::sleep(1ms);  // may block: it is a greenlet, not the signal context
        where = getcurrent();
        ++runs;
    });
    EXPECT_EQ(handler->signum(), SIGUSR2);
    ASSERT_EQ(::raise(SIGUSR2), 0);
    for (int i = 0; i < 200 && runs == 0; ++i) grove::sleep(1ms);
    EXPECT_EQ(runs, 1);
    EXPECT_NE(where, nullptr);
    EXPECT_NE(where, getcurrent());
}

TEST_F(SignalHandlerTest, DoesNotKeepTheHubAlive) {
    auto handler = signal_handler(SIGUSR2, [] {});
    EXPECT_TRUE(get_hub().join(1s));  // runs dry at once
}

class Fork : public test::LeakChecked {};

// The child must use its hub after fork: sleep, spawn, a socket round trip.
int child_main() {
    reinit();
    grove::sleep(1ms);
    auto g = spawn([] { return 7; });
    if (*g->get() != 7) return 2;
    auto ab = Socket::pair();
    Socket& a = ab.first;
    Socket& b = ab.second;
    auto echoer = spawn([&b] { test::echo(b); });
    a.sendall("fork");
    if (test::recv_exactly(a, 4) != "fork") return 3;
    a.close();
    echoer->join();
    return 0;
}

TEST_F(Fork, ChildHubWorksAfterReinit) {
    auto suspended = spawn([] { grove::sleep(10s); });
    grove::sleep();  // it is now suspended in its sleep
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int rc = 1;
        try {
            rc = child_main();
        } catch (...) {
            rc = 4;
        }
        ::_exit(rc);
    }
    int status = 0;
    // Wait cooperatively: the parent's hub keeps running meanwhile.
    while (::waitpid(pid, &status, WNOHANG) == 0) grove::sleep(2ms);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    suspended->kill();
}

}  // namespace
}  // namespace grove
