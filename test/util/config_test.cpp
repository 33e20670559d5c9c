// grove::config: GROVE_* parsing, the promised error messages, set() rules.
// from_environment() is called directly (it reads the environment each time
// and freezes nothing), so bad values are tested without a child process;
// run_info_signal_test.cpp checks the same error at a real program's startup.
// What the runtime reads (config::current(), once per process) is tested in a
// fresh process each: the *DeathTest suite runs its bodies in a re-executed
// copy of this program (death_test_style "threadsafe").
#include <grove/config.hpp>
#include <grove/io/threadpool.hpp>

#include "stack.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace {

// Sets one variable for the scope of a test, restoring the old value.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value, 1);
    }
    ~ScopedEnv() {
        if (old_.empty())
            ::unsetenv(name_);
        else
            ::setenv(name_, old_.c_str(), 1);
    }

private:
    const char* name_;
    std::string old_;
};

std::string error_of(const char* name, const char* value) {
    ScopedEnv env(name, value);
    try {
        (void)grove::config::from_environment();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Config, DefaultsWithoutVariables) {
    const grove::config::Settings s = grove::config::from_environment();
    EXPECT_EQ(s.stack_size, 0u);
    EXPECT_FALSE(s.monitor_thread);
    EXPECT_DOUBLE_EQ(s.max_blocking_time, 0.1);
    EXPECT_EQ(s.run_info_signal, 0);
    EXPECT_EQ(s.threadpool_size, 10u);
    EXPECT_EQ(s.resolver, "thread");
}

TEST(Config, ParsesEachVariable) {
    ScopedEnv a("GROVE_STACK_SIZE", "256K");
    ScopedEnv b("GROVE_MONITOR_THREAD", "yes");
    ScopedEnv c("GROVE_MAX_BLOCKING_TIME", "0.25");
    ScopedEnv d("GROVE_RUN_INFO_SIGNAL", "SIGUSR2");
    ScopedEnv e("GROVE_THREADPOOL_SIZE", "3");
    ScopedEnv f("GROVE_MAX_MEMORY_USAGE", "2G");
    ScopedEnv g("GROVE_LOG_LEVEL", "WARNING");
    const grove::config::Settings s = grove::config::from_environment();
    EXPECT_EQ(s.stack_size, 256u * 1024);
    EXPECT_TRUE(s.monitor_thread);
    EXPECT_DOUBLE_EQ(s.max_blocking_time, 0.25);
    EXPECT_EQ(s.run_info_signal, SIGUSR2);
    EXPECT_EQ(s.threadpool_size, 3u);
    EXPECT_EQ(s.max_memory_usage, std::size_t{2} << 30);
    EXPECT_EQ(s.log_level, "warning");
}

TEST(Config, RunInfoSignalOnMeansUsr1) {
    ScopedEnv a("GROVE_RUN_INFO_SIGNAL", "on");
    EXPECT_EQ(grove::config::from_environment().run_info_signal, SIGUSR1);
}

TEST(Config, BadValueErrorNamesVariableAndValue) {
    const struct {
        const char* name;
        const char* value;
    } cases[] = {
        {"GROVE_STACK_SIZE", "12Q"},         {"GROVE_STACK_SIZE", "1K"},         {"GROVE_MONITOR_THREAD", "maybe"},
        {"GROVE_MAX_BLOCKING_TIME", "fast"}, {"GROVE_MAX_BLOCKING_TIME", "-1"},  {"GROVE_RUN_INFO_SIGNAL", "USR3"},
        {"GROVE_RUN_INFO_SIGNAL", "9"},      {"GROVE_THREADPOOL_SIZE", "0"},     {"GROVE_RESOLVER", "dnspython"},
        {"GROVE_LOG_LEVEL", "loud"},         {"GROVE_MAX_MEMORY_USAGE", "lots"}, {"GROVE_GUARD_BUDGET", "-5"},
    };
    for (const auto& c : cases) {
        const std::string message = error_of(c.name, c.value);
        EXPECT_NE(message.find(std::string(c.name) + "='" + c.value + "'"), std::string::npos)
            << c.name << "=" << c.value << " gave: " << message;
    }
}

TEST(Config, ValidateNamesTheVariableOfABadField) {
    grove::config::Settings s;
    s.max_blocking_time = 0;
    try {
        grove::config::validate(s);
        FAIL() << "no error";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("GROVE_MAX_BLOCKING_TIME"), std::string::npos) << e.what();
    }
}

TEST(Config, SetAfterFirstUseIsAnError) {
    grove::config::Settings s = grove::config::from_environment();
    s.threadpool_size = 4;
    grove::config::set(s);  // before first use: accepted
    EXPECT_EQ(grove::config::current().threadpool_size, 4u);
    EXPECT_THROW(grove::config::set(s), std::logic_error);
}

// Code's settings win over the environment everywhere the runtime reads
// them: the default pool and the default stack size.
TEST(ConfigDeathTest, SetBeatsTheEnvironment) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    ScopedEnv pool("GROVE_THREADPOOL_SIZE", "7");
    ScopedEnv stack("GROVE_STACK_SIZE", "1G");
    EXPECT_EXIT(
        {
            grove::config::Settings s = grove::config::from_environment();
            s.threadpool_size = 3;
            s.stack_size = 64 * 1024;
            grove::config::set(s);
            if (grove::get_threadpool().size() != 3) std::_Exit(1);
            if (grove::detail::default_stack_size() >= (std::size_t{1} << 30)) std::_Exit(2);
            std::_Exit(0);
        },
        ::testing::ExitedWithCode(0), "");
}

// GROVE_STACK_SIZE takes the G suffix like every other size, and it reaches
// the stacks: 1G is the largest size allowed.
TEST(ConfigDeathTest, StackSizeTakesTheGSuffix) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    ScopedEnv stack("GROVE_STACK_SIZE", "1G");
    EXPECT_EQ(grove::config::from_environment().stack_size, std::size_t{1} << 30);
    EXPECT_EXIT(
        {
            if (grove::detail::default_stack_size() < (std::size_t{1} << 30)) std::_Exit(1);
            std::_Exit(0);
        },
        ::testing::ExitedWithCode(0), "");
}

}  // namespace
