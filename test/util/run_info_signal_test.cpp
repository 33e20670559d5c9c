// The run-info signal and startup errors, seen from outside a child process.
#include <signal.h>
#include <sys/wait.h>

#include <string>

#include <gtest/gtest.h>

#include "child_process.hpp"

namespace {

using grove::test::run_child;

TEST(RunInfoSignal, Usr1PrintsTheRunInfoOfALiveProcess) {
    bool signalled = false;
    const auto r = run_child("wait", {"GROVE_RUN_INFO_SIGNAL=USR1"}, [&](pid_t pid, const std::string& err) {
        if (!signalled) {
            signalled = true;
            ::kill(pid, SIGUSR1);
        }
        return err.find("in child_parks_in_timer()") != std::string::npos;
    });
    EXPECT_NE(r.err.find("grove run info: pid"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("\"parked\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("waits on sleep"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("in child_parks_in_timer()"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("in main"), std::string::npos) << r.err;
    EXPECT_TRUE(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL) << "the dump must not end the process";
}

TEST(RunInfoSignal, OffByDefault) {
    // Without the setting SIGUSR1 keeps its default action: it ends the process.
    bool signalled = false;
    const auto r = run_child(
        "wait", {},
        [&](pid_t pid, const std::string&) {
            if (!signalled) {
                signalled = true;
                ::kill(pid, SIGUSR1);
            }
            return false;
        },
        std::chrono::seconds(3));
    EXPECT_TRUE(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGUSR1) << r.err;
    EXPECT_EQ(r.err.find("grove run info"), std::string::npos) << r.err;
}

TEST(ConfigStartup, BadVariableStopsTheProgramWithTheVariableNamed) {
    const auto r = run_child(
        "wait", {"GROVE_MAX_BLOCKING_TIME=fast"}, [](pid_t, const std::string&) { return true; },
        std::chrono::seconds(5));
    EXPECT_FALSE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    EXPECT_NE(r.err.find("std::invalid_argument"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("GROVE_MAX_BLOCKING_TIME='fast'"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("ready"), std::string::npos) << "the program must not get past its first grove call";
}

}  // namespace
