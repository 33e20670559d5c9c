// subprocess: Popen, communicate, wait, run and check_output block only the
// calling greenlet, keep Python's semantics, and leak no fd and no zombie.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <system_error>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/subprocess.hpp>
#include <grove/timeout.hpp>

#include "children.hpp"
#include "leak_check.hpp"
#include "ticker.hpp"

namespace grove::test {
namespace {

using namespace std::chrono_literals;
namespace sp = grove::subprocess;
using Subprocess = LeakChecked;

int open_fds() {
    int n = 0;
    DIR* d = ::opendir("/proc/self/fd");
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    return n - 1;  // the DIR's own fd
}

/// Waits (cooperatively, up to 5 s) until `pid` is gone from /proc.
bool gone_within_5s(pid_t pid) {
    for (int i = 0; i < 500 && process_exists(pid); ++i) grove::sleep(10ms);
    return !process_exists(pid);
}

sp::Options pipes(bool in, bool out, bool err = false) {
    sp::Options o;
    if (in) o.stdin_ = sp::PIPE;
    if (out) o.stdout_ = sp::PIPE;
    if (err) o.stderr_ = sp::PIPE;
    return o;
}

TEST_F(Subprocess, CommunicateTenMegabytesInAndOutNeverDeadlocks) {
    std::string input(10 << 20, '\0');
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<char>('a' + i % 26);
    Ticker ticker;
    std::string out, err;
    int rc = -1;
    grove::spawn([&] {
        // stdout and stderr each get the whole input: 10 MB in, 20 MB out,
        // far beyond any pipe buffer, so a sequential write-then-read would hang.
        sp::Popen p = sp::Popen::shell("tee /dev/stderr", pipes(true, true, true));
        std::tie(out, err) = p.communicate(input);
        rc = *p.returncode();
    })->join();
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(out.size(), input.size());
    EXPECT_TRUE(out == input);
    EXPECT_TRUE(err == input);
    EXPECT_GE(ticker.ticks, 1);
    EXPECT_TRUE(zombie_children().empty());
}

TEST_F(Subprocess, PipesAreCooperativeStreams) {
    Ticker ticker;
    grove::spawn([&] {
        sp::Popen p = sp::Popen::shell("read x; echo got $x; sleep 0.1; echo done", pipes(true, true));
        p.stdin_pipe().write_all("hello\n");
        EXPECT_EQ(p.stdout_pipe().read_all(), "got hello\ndone\n");
        EXPECT_EQ(p.wait(), 0);
    })->join();
    EXPECT_GE(ticker.ticks, 3);  // the hub ran during the child's 100 ms (0 if it blocked)
}

TEST_F(Subprocess, WaitRaisesTimeoutExpiredAndTheChildKeepsRunningUntilKilled) {
    grove::spawn([] {
        sp::Popen p({"sleep", "5"});
        EXPECT_THROW(p.wait(50ms), sp::TimeoutExpired);
        EXPECT_FALSE(p.poll());
        EXPECT_TRUE(process_exists(p.pid()));
        p.kill();
        EXPECT_EQ(p.wait(), -SIGKILL);
        EXPECT_EQ(p.returncode(), -SIGKILL);
        p.kill();  // reaped: a no-op, never a signal to a reused pid
    })->join();
    EXPECT_TRUE(zombie_children().empty());
}

TEST_F(Subprocess, CommunicateTimeoutKeepsWhatWasReadAndCanBeResumed) {
    grove::spawn([] {
        sp::Popen p = sp::Popen::shell("echo start; sleep 0.3; echo end", pipes(false, true));
        try {
            p.communicate({}, 100ms);
            ADD_FAILURE() << "no TimeoutExpired";
        } catch (const sp::TimeoutExpired& e) {
            EXPECT_EQ(e.output, "start\n");
            EXPECT_EQ(e.timeout, Duration(0.1));
        }
        auto [out, err] = p.communicate();
        EXPECT_EQ(out, "start\nend\n");
        EXPECT_EQ(err, "");
        EXPECT_EQ(p.returncode(), 0);
    })->join();
}

TEST_F(Subprocess, TerminateGivesMinusTheSignal) {
    grove::spawn([] {
        sp::Popen p({"sleep", "5"});
        p.terminate();
        EXPECT_EQ(p.wait(), -SIGTERM);
    })->join();
}

TEST_F(Subprocess, CheckOutputRaisesCalledProcessErrorWithStatusAndOutput) {
    grove::spawn([] {
        EXPECT_EQ(sp::check_output({"echo", "fine"}), "fine\n");
        try {
            sp::check_output({"sh", "-c", "echo partial; exit 3"});
            ADD_FAILURE() << "no CalledProcessError";
        } catch (const sp::CalledProcessError& e) {
            EXPECT_EQ(e.returncode, 3);
            EXPECT_EQ(e.output, "partial\n");
            EXPECT_NE(std::string(e.what()).find("exit status 3"), std::string::npos);
        }
        try {
            sp::check_output({"sh", "-c", "kill -KILL $$"});
            ADD_FAILURE() << "no CalledProcessError";
        } catch (const sp::CalledProcessError& e) {
            EXPECT_EQ(e.returncode, -SIGKILL);
        }
    })->join();
}

TEST_F(Subprocess, RunWithTimeoutKillsAndReapsTheChild) {
    grove::spawn([] {
        const auto start = std::chrono::steady_clock::now();
        sp::RunOptions o;
        o.timeout = 50ms;
        EXPECT_THROW(sp::run({"sleep", "5"}, o), sp::TimeoutExpired);
        EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 2.0);
    })->join();
    EXPECT_TRUE(zombie_children().empty());
    EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);  // nothing left to reap: it was reaped
}

TEST_F(Subprocess, RunCapturesAndFeedsInput) {
    grove::spawn([] {
        sp::RunOptions o;
        o.input = "b\na\n";
        o.capture_output = true;
        auto done = sp::run({"sort"}, o);
        EXPECT_EQ(done.returncode, 0);
        EXPECT_EQ(done.stdout_, "a\nb\n");
        EXPECT_EQ(done.stderr_, "");
        sp::RunOptions fail;
        fail.check = true;
        EXPECT_THROW(sp::run({"false"}, fail), sp::CalledProcessError);
    })->join();
}

TEST_F(Subprocess, RedirectsCwdAndEnv) {
    grove::spawn([] {
        sp::Options merged = pipes(false, true);
        merged.stderr_ = sp::STDOUT;
        auto [both, none] = sp::Popen::shell("echo out; echo err >&2", merged).communicate();
        EXPECT_EQ(both, "out\nerr\n");
        EXPECT_EQ(none, "");
        sp::Options quiet = pipes(false, true);
        quiet.stdin_ = sp::DEVNULL;
        quiet.stderr_ = sp::DEVNULL;
        EXPECT_EQ(sp::Popen::shell("cat; echo hidden >&2; echo shown", quiet).communicate().first, "shown\n");
        int p[2];
        ASSERT_EQ(::pipe(p), 0);
        sp::Options to_fd;
        to_fd.stdout_ = sp::fd(p[1]);
        EXPECT_EQ(sp::Popen({"echo", "via fd"}, to_fd).wait(), 0);
        ::close(p[1]);
        char buf[32] = {};
        EXPECT_EQ(::read(p[0], buf, sizeof buf), 7);
        EXPECT_STREQ(buf, "via fd\n");
        ::close(p[0]);
        sp::Options where = pipes(false, true);
        where.cwd = "/tmp";
        where.env = std::vector<std::string>{"GROVE_SUBPROCESS_TEST=42"};
        EXPECT_EQ(sp::Popen::shell("pwd; echo $GROVE_SUBPROCESS_TEST", where).communicate().first, "/tmp\n42\n");
    })->join();
}

TEST_F(Subprocess, BadArgumentsAndMissingProgramsThrow) {
    EXPECT_THROW(sp::Popen({}), std::invalid_argument);
    sp::Options bad;
    bad.stdout_ = sp::STDOUT;
    EXPECT_THROW(sp::Popen({"true"}, bad), std::invalid_argument);
    EXPECT_THROW(sp::fd(-1), std::invalid_argument);
    try {
        sp::Popen({"/nonexistent/program"});
        ADD_FAILURE() << "no error";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ENOENT);
    }
}

TEST_F(Subprocess, KilledInsideCommunicateLeaksNoFdAndNoZombie) {
    // The reaper thread opens its wake-up pipe once per process: start it first.
    grove::spawn([] { sp::Popen({"sleep", "0.01"}); })->join();
    const int fds_before = open_fds();
    pid_t pid = -1;
    auto g = grove::spawn([&] {
        sp::Popen p = sp::Popen::shell("sleep 0.2; echo late", pipes(true, true, true));
        pid = p.pid();
        p.communicate("input");
    });
    grove::sleep(30ms);
    g->kill();
    EXPECT_TRUE(g->dead());
    EXPECT_TRUE(process_exists(pid));  // the child keeps running, as in Python
    EXPECT_TRUE(gone_within_5s(pid));  // and once it exits, the reaper reaps it
    EXPECT_TRUE(zombie_children().empty());
    // Pipes closed, the reaper's pidfd too. Fewer is fine: the reaper may have
    // just closed the pidfd of an earlier test's child.
    EXPECT_LE(open_fds(), fds_before);
}

TEST_F(Subprocess, KilledInsideWaitLeaksNoZombie) {
    pid_t pid = -1;
    auto g = grove::spawn([&] {
        sp::Popen p({"sleep", "0.1"});
        pid = p.pid();
        p.wait();
    });
    grove::sleep(20ms);
    g->kill();
    EXPECT_TRUE(gone_within_5s(pid));
    EXPECT_TRUE(zombie_children().empty());
}

}  // namespace
}  // namespace grove::test
