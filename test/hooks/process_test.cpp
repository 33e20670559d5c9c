// Hooks: waitpid, wait, wait3, wait4, waitid and system() cooperate, give the
// exact status, and never reap a child that somebody else waits for.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/timeout.hpp>

#include "children.hpp"
#include "hooks_support.hpp"
#include "ticker.hpp"

namespace grove::test {
namespace {

using namespace std::chrono_literals;
using ProcessHooks = Hooked;

/// A child that sleeps `ms` milliseconds (with the real nanosleep: the child
/// has no hub) and exits with `code`.
pid_t child_exiting(int code, int ms) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        timespec ts{ms / 1000, (ms % 1000) * 1000000L};
        ::nanosleep(&ts, nullptr);
        ::_exit(code);
    }
    return pid;
}

TEST_F(ProcessHooks, HundredSystemSleepsFinishInAboutOne) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<int> status(100, -1);
    int running = 0, most_running = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < 100; ++i) {
        gs.push_back(grove::spawn([&, i] {
            most_running = std::max(most_running, ++running);
            status[i] = std::system("sleep 0.2");
            --running;
        }));
    }
    joinall(gs);
    const double t = since(start);
    print_elapsed("100 greenlets x system(\"sleep 0.2\")", t);
    for (int s : status) EXPECT_EQ(s, 0);
    EXPECT_EQ(most_running, 100);  // all were in system() at once (1 if it blocked the thread)
    EXPECT_GE(t, 0.19);
    // ~0.5 s on an idle 2-core machine (bash's `sh -c "sleep 0.2" &` x100 + wait:
    // about the same); 20 s one after another. Bound far from both under load.
    EXPECT_LT(t, 5.0);
    EXPECT_TRUE(zombie_children().empty());
}

TEST_F(ProcessHooks, SystemGivesThePlainStatusWord) {
    grove::spawn([] {
        EXPECT_NE(std::system(nullptr), 0);  // a shell is there
        const int exited = std::system("exit 3");
        EXPECT_TRUE(WIFEXITED(exited));
        EXPECT_EQ(WEXITSTATUS(exited), 3);
        const int killed = std::system("kill -TERM $$");
        EXPECT_TRUE(WIFSIGNALED(killed));
        EXPECT_EQ(WTERMSIG(killed), SIGTERM);
        const int missing = std::system("/nonexistent/program 2>/dev/null");
        EXPECT_EQ(WEXITSTATUS(missing), 127);
    })->join();
}

TEST_F(ProcessHooks, SystemIgnoresIntAndQuitAndBlocksChldWhileItRuns) {
    struct sigaction before {};
    ::sigaction(SIGINT, nullptr, &before);
    ASSERT_NE(before.sa_handler, SIG_IGN);
    bool int_ignored = false, quit_ignored = false, chld_blocked = false;
    auto runner = grove::spawn([] { std::system("sleep 0.1"); });
    grove::spawn([&] {
        grove::sleep(30ms);
        struct sigaction now {};
        ::sigaction(SIGINT, nullptr, &now);
        int_ignored = now.sa_handler == SIG_IGN;
        ::sigaction(SIGQUIT, nullptr, &now);
        quit_ignored = now.sa_handler == SIG_IGN;
        sigset_t mask;
        ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
        chld_blocked = sigismember(&mask, SIGCHLD);
    })->join();
    runner->join();
    EXPECT_TRUE(int_ignored);
    EXPECT_TRUE(quit_ignored);
    EXPECT_TRUE(chld_blocked);
    struct sigaction after {};
    ::sigaction(SIGINT, nullptr, &after);
    EXPECT_EQ(after.sa_handler, before.sa_handler);
    sigset_t mask;
    ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
    EXPECT_FALSE(sigismember(&mask, SIGCHLD));
}

TEST_F(ProcessHooks, WaitpidInGreenletsAndInAPlainThreadEachGetTheirOwnChild) {
    Ticker ticker;
    const pid_t a = child_exiting(10, 150), b = child_exiting(11, 100), other = child_exiting(12, 200);
    int thread_status = -1;
    pid_t thread_got = 0;
    std::thread plain([&] { thread_got = ::waitpid(other, &thread_status, 0); });  // no hub: the real call
    int sa = -1, sb = -1;
    pid_t ga = 0, gb = 0;
    auto wa = grove::spawn([&] { ga = ::waitpid(a, &sa, 0); });
    auto wb = grove::spawn([&] {
        rusage ru{};
        gb = ::wait4(b, &sb, 0, &ru);
    });
    wa->join();
    wb->join();
    const int ticks = ticker.ticks;
    plain.join();
    EXPECT_EQ(ga, a);
    EXPECT_EQ(gb, b);
    EXPECT_EQ(thread_got, other);
    EXPECT_EQ(WEXITSTATUS(sa), 10);
    EXPECT_EQ(WEXITSTATUS(sb), 11);
    EXPECT_EQ(WEXITSTATUS(thread_status), 12);
    EXPECT_GE(ticks, 3);  // the hub ran while both greenlets waited ~150 ms
    EXPECT_TRUE(zombie_children().empty());
}

TEST_F(ProcessHooks, WaitForAnyChildCooperatesAndReapsOnlyWhatIsReady) {
    Ticker ticker;
    const pid_t first = child_exiting(21, 60);
    const pid_t second = child_exiting(22, 120);
    grove::spawn([&] {
        int s = -1;
        EXPECT_EQ(::wait(&s), first);
        EXPECT_EQ(WEXITSTATUS(s), 21);
        EXPECT_TRUE(process_exists(second));  // still running: not reaped, not waited
        EXPECT_EQ(::wait3(&s, 0, nullptr), second);
        EXPECT_EQ(WEXITSTATUS(s), 22);
        EXPECT_EQ(::wait(&s), -1);
        EXPECT_EQ(errno, ECHILD);
    })->join();
    EXPECT_GE(ticker.ticks, 3);
}

TEST_F(ProcessHooks, WaitidForOnePidAndWnohangPassThrough) {
    const pid_t pid = child_exiting(5, 50);
    grove::spawn([&] {
        int s = 0;
        EXPECT_EQ(::waitpid(pid, &s, WNOHANG), 0);  // unchanged: not ready, no wait
        siginfo_t info{};
        EXPECT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
        EXPECT_EQ(info.si_pid, pid);
        EXPECT_EQ(info.si_status, 5);
        EXPECT_EQ(::waitpid(pid, &s, 0), pid);  // WNOWAIT left it waitable
        EXPECT_EQ(WEXITSTATUS(s), 5);
    })->join();
}

TEST_F(ProcessHooks, KilledWaitpidFailsWithEcanceledAndLeavesTheChild) {
    const pid_t pid = child_exiting(0, 100);
    int err = 0;
    pid_t got = 0;
    auto g = grove::spawn([&] {
        got = ::waitpid(pid, nullptr, 0);
        err = errno;
        grove::sleep(1s);  // the pending kill lands here
    });
    grove::sleep(20ms);
    g->kill();
    EXPECT_EQ(got, -1);
    EXPECT_EQ(err, ECANCELED);
    int s = -1;
    EXPECT_EQ(::waitpid(pid, &s, 0), pid);  // still ours to reap, with its status
    EXPECT_TRUE(WIFEXITED(s));
}

TEST_F(ProcessHooks, TimedOutSystemKillsAndReapsItsShell) {
    grove::spawn([] {
        const auto start = std::chrono::steady_clock::now();
        int r = 0, err = 0;
        {
            Timeout t(50ms);
            r = std::system("sleep 5");
            err = errno;
        }
        EXPECT_EQ(r, -1);
        EXPECT_EQ(err, ETIMEDOUT);
        EXPECT_LT(since(start), 2.0);
    })->join();
    EXPECT_TRUE(zombie_children().empty());
    EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);  // nothing left to reap
}

TEST_F(ProcessHooks, ForkedChildExitsAndIsWaitedForFromAGreenlet) {
    grove::spawn([] {
        const pid_t pid = ::fork();
        if (pid == 0) {
            grove::reinit();
            ::_exit(std::system("exit 9") == W_EXITCODE(9, 0) ? 0 : 1);
        }
        int s = -1;
        EXPECT_EQ(::waitpid(pid, &s, 0), pid);
        EXPECT_EQ(WEXITSTATUS(s), 0);
    })->join();
}

}  // namespace
}  // namespace grove::test
