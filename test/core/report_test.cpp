// Error reports without a greenlet runtime: throw-site capture through the
// interposed __cxa_throw, symbolised tracebacks, and describe() helpers.
#include "report.hpp"

#include <cstddef>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <grove/detail/describe.hpp>
#include <grove/exceptions.hpp>

// Global, not in the anonymous namespace, so their names read as in a user's
// program: "divide(int, int)".
constexpr int kDivideThrowLine = __LINE__ + 3;  // the `throw` line below
[[gnu::noinline]] int divide(int a, int b) {
    if (b != 0) return a / b;
    throw std::domain_error("integer division or modulo by zero");
}

constexpr int kCallDivideLine = __LINE__ + 2;  // the call of divide() below
[[gnu::noinline]] int call_divide(int a, int b) {
    const int result = divide(a, b);
    return result + 1;  // not a tail call: call_divide stays on the stack
}

[[gnu::noinline]] void throw_int() { throw 42; }

// Read through volatile so the optimiser can neither fold the division nor
// specialise the functions on a constant (a ".constprop" clone has another name).
[[gnu::noinline]] int zero() {
    volatile int value = 0;
    return value;
}

namespace {

using grove::detail::exception_message;
using grove::detail::exception_type_name;
using grove::detail::format_report;
using grove::detail::take_throw_trace;

constexpr const char* kDescription = "<Greenlet at 0x1: divide(int, int)(1, 0)>";

// Naming the executable's own functions needs Boost.Stacktrace (it reads
// the symbol table or DWARF; dladdr sees exported symbols only). Lines also
// need this test built with debug info; meson.build says whether it is.
#if GROVE_HAVE_STACKTRACE
constexpr bool kSymbolised = true;
#else
constexpr bool kSymbolised = false;
#endif
#if GROVE_HAVE_STACKTRACE && GROVE_TEST_DEBUG_INFO
constexpr bool kLineInfo = true;
#else
constexpr bool kLineInfo = false;
#endif
constexpr const char* kNoSymboliser = "grove was built without Boost.Stacktrace";
constexpr const char* kNoLineInfo = "no Boost.Stacktrace or no debug info (-g)";

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The index of the first line containing `part`, or -1.
int find_line(const std::vector<std::string>& lines, const std::string& part) {
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (contains(lines[i], part)) return static_cast<int>(i);
    return -1;
}

// `  File "<path>", line <n>, in <function>` or `  File "<path>", in <function>`.
bool is_frame_line(const std::string& line) {
    constexpr std::string_view kFile = "  File \"";
    if (!line.starts_with(kFile)) return false;
    const std::size_t path_end = line.find("\", ", kFile.size());
    if (path_end == std::string::npos || path_end == kFile.size()) return false;
    std::string_view rest = std::string_view(line).substr(path_end + 3);
    if (rest.starts_with("line ")) {
        rest.remove_prefix(5);
        const std::size_t digits = rest.find_first_not_of("0123456789");
        if (digits == 0 || digits == std::string_view::npos || rest[0] == '0') return false;
        rest.remove_prefix(digits);
        if (!rest.starts_with(", ")) return false;
        rest.remove_prefix(2);
    }
    return rest.starts_with("in ") && rest.size() > 3;
}

struct Caught {
    std::exception_ptr error;
    std::shared_ptr<void> trace;
};

template <class F>
Caught catch_from(F&& f) {
    try {
        f();
    } catch (...) {
        return {std::current_exception(), take_throw_trace(std::current_exception())};
    }
    ADD_FAILURE() << "nothing was thrown";
    return {};
}

std::string frame_line(const char* function, int line) {
    return fmt::format("report_test.cpp\", line {}, in {}", line, function);
}

TEST(Report, NamesTheThrowingFunctionAndLine) {
    if (!kLineInfo) GTEST_SKIP() << kNoLineInfo;
    const Caught caught = catch_from([] { call_divide(1, zero()); });
    ASSERT_TRUE(caught.trace);
    const std::string report = format_report(kDescription, caught.error, caught.trace);
    const auto lines = lines_of(report);
    ASSERT_GE(lines.size(), 4u) << report;
    EXPECT_EQ(lines.front(), "Traceback (most recent call last):") << report;
    const std::string& throw_point = lines[lines.size() - 3];
    EXPECT_TRUE(throw_point.starts_with("  File \"")) << report;
    EXPECT_TRUE(contains(throw_point, frame_line("divide(int, int)", kDivideThrowLine))) << report;
    EXPECT_TRUE(throw_point.ends_with("in divide(int, int)")) << report;
    EXPECT_EQ(lines[lines.size() - 2], "std::domain_error: integer division or modulo by zero");
    EXPECT_EQ(lines.back(), std::string(kDescription) + " failed with std::domain_error");
    EXPECT_FALSE(report.ends_with("\n"));
}

TEST(Report, ListsFramesOutermostFirst) {
    if (!kSymbolised) GTEST_SKIP() << kNoSymboliser;
    const Caught caught = catch_from([] { call_divide(1, zero()); });
    const std::string report = format_report(kDescription, caught.error, caught.trace);
    const auto lines = lines_of(report);
    const int caller = find_line(lines, ", in call_divide(int, int)");
    const int callee = find_line(lines, ", in divide(int, int)");
    ASSERT_NE(caller, -1) << report;
    EXPECT_EQ(callee, caller + 1) << report;
    if (kLineInfo) {
        EXPECT_TRUE(
            contains(lines[static_cast<std::size_t>(caller)], frame_line("call_divide(int, int)", kCallDivideLine)))
            << report;
    }
}

TEST(Report, DropsTheThrowMachineryAndProcessStart) {
    const Caught caught = catch_from([] { call_divide(1, zero()); });
    const std::string report = format_report(kDescription, caught.error, caught.trace);
    EXPECT_FALSE(contains(report, "__cxa_throw")) << report;
    EXPECT_FALSE(contains(report, "record_throw")) << report;
    EXPECT_FALSE(contains(report, "__libc_start")) << report;
}

TEST(Report, DropsThreadStartAndStdGlue) {
    if (!kSymbolised) GTEST_SKIP() << kNoSymboliser;
    Caught caught;
    std::thread([&caught] { caught = catch_from([] { call_divide(1, zero()); }); }).join();
    const std::string report = format_report(kDescription, caught.error, caught.trace);
    const auto lines = lines_of(report);
    ASSERT_GE(lines.size(), 2u) << report;
    EXPECT_FALSE(contains(report, "start_thread")) << report;
    EXPECT_FALSE(lines[1].starts_with("  File") && contains(lines[1], ", in std::")) << report;
    EXPECT_NE(find_line(lines, "in call_divide(int, int)"), -1) << report;
}

TEST(Report, EveryFrameLineHasPythonShape) {
    const Caught caught = catch_from([] { call_divide(1, zero()); });
    const std::string report = format_report(kDescription, caught.error, caught.trace);
    const auto lines = lines_of(report);
    ASSERT_GE(lines.size(), 4u) << report;
    for (std::size_t i = 1; i + 2 < lines.size(); ++i) EXPECT_TRUE(is_frame_line(lines[i])) << lines[i];
}

[[gnu::noinline]] int recurse_then_divide(int depth) {
    if (depth == 0) return divide(1, zero());
    // Volatile: g++ would turn `return f(n - 1) + 1` into a loop.
    const volatile int result = recurse_then_divide(depth - 1);
    return result + 1;
}

TEST(Report, DeepStackKeepsTheInnermostFramesAndSaysSo) {
    const Caught caught = catch_from([] { recurse_then_divide(100); });
    const std::string report = format_report(kDescription, caught.error, caught.trace);
    const auto lines = lines_of(report);
    ASSERT_GE(lines.size(), 4u) << report;
    EXPECT_EQ(lines[1], "  ... outer frames not recorded (only the innermost 64)") << report;
    EXPECT_EQ(lines.size(), 1 + 1 + 64 + 2u) << report;
    if (kSymbolised) {
        EXPECT_TRUE(lines[lines.size() - 3].ends_with("in divide(int, int)")) << report;
    }
}

TEST(Report, NonStdExceptionHasTypeOnly) {
    const Caught caught = catch_from(throw_int);
    const auto lines = lines_of(format_report("<Greenlet at 0x2: throw_int()>", caught.error, caught.trace));
    ASSERT_GE(lines.size(), 3u);
    if (kSymbolised) {
        EXPECT_NE(find_line(lines, "in throw_int()"), -1);
    }
    EXPECT_EQ(lines[lines.size() - 2], "int");
    EXPECT_EQ(lines.back(), "<Greenlet at 0x2: throw_int()> failed with int");
}

TEST(Report, WithoutFramesHasNoTracebackHeader) {
    const auto error = std::make_exception_ptr(std::runtime_error("boom"));
    EXPECT_EQ(format_report("<G>", error, take_throw_trace(error)),
              "std::runtime_error: boom\n<G> failed with std::runtime_error");
}

// std::__throw_out_of_range_fmt lives in libstdc++.so and reaches
// __cxa_throw through the PLT, so the interposer sees it too.
TEST(Report, LibstdcxxThrowsAreRecorded) {
    const Caught caught = catch_from([] { (void)std::vector<int>{}.at(static_cast<std::size_t>(zero() + 3)); });
    ASSERT_TRUE(caught.trace);
    if (!kSymbolised) GTEST_SKIP() << kNoSymboliser;
    const std::string report = format_report("<G>", caught.error, caught.trace);
    const auto lines = lines_of(report);
    EXPECT_EQ(lines.front(), "Traceback (most recent call last):") << report;
    EXPECT_NE(find_line(lines, "LibstdcxxThrowsAreRecorded_Test"), -1) << report;
    EXPECT_EQ(lines[lines.size() - 2].rfind("std::out_of_range: vector::_M_range_check", 0), 0u) << report;
    EXPECT_EQ(lines.back(), "<G> failed with std::out_of_range");
}

TEST(TakeThrowTrace, TakesOnce) {
    try {
        divide(1, zero());
    } catch (...) {
        EXPECT_TRUE(take_throw_trace(std::current_exception()));
        EXPECT_FALSE(take_throw_trace(std::current_exception()));
    }
}

TEST(TakeThrowTrace, SurvivesRethrow) {
    std::exception_ptr error;
    try {
        try {
            divide(1, zero());
        } catch (...) {
            error = std::current_exception();
            throw;
        }
    } catch (...) {
        EXPECT_EQ(std::current_exception(), error);
        EXPECT_TRUE(take_throw_trace(std::current_exception()));
    }
}

TEST(TakeThrowTrace, FindsTheOuterExceptionAfterANestedOne) {
    std::exception_ptr outer;
    std::shared_ptr<void> outer_trace;
    try {
        divide(1, zero());
    } catch (...) {
        outer = std::current_exception();
        const Caught inner = catch_from(throw_int);
        EXPECT_TRUE(inner.trace);
        outer_trace = take_throw_trace(outer);
    }
    ASSERT_TRUE(outer_trace);
    if (!kSymbolised) GTEST_SKIP() << kNoSymboliser;
    const std::string report = format_report("<G>", outer, outer_trace);
    EXPECT_TRUE(contains(report, "in divide(int, int)")) << report;
    EXPECT_FALSE(contains(report, "throw_int")) << report;
}

TEST(TakeThrowTrace, ForgetsAfterTheRingWrapsAround) {
    const Caught first = catch_from([] { divide(1, zero()); });
    (void)first;
    std::exception_ptr kept;
    try {
        divide(1, zero());
    } catch (...) {
        kept = std::current_exception();
    }
    for (int i = 0; i < 40; ++i) catch_from(throw_int);
    EXPECT_FALSE(take_throw_trace(kept));
}

TEST(TakeThrowTrace, EmptyForNull) { EXPECT_FALSE(take_throw_trace(std::exception_ptr())); }

TEST(ExceptionTypeName, IsDemangled) {
    EXPECT_EQ(exception_type_name(std::make_exception_ptr(std::domain_error("x"))), "std::domain_error");
    EXPECT_EQ(exception_type_name(std::make_exception_ptr(42)), "int");
    EXPECT_EQ(exception_type_name(std::make_exception_ptr(grove::GreenletExit())), "grove::GreenletExit");
}

TEST(ExceptionMessage, CoversStdAndCancellation) {
    EXPECT_EQ(exception_message(std::make_exception_ptr(std::domain_error("bad"))), "bad");
    EXPECT_EQ(exception_message(std::make_exception_ptr(grove::GreenletExit())), "GreenletExit");
    EXPECT_EQ(exception_message(std::make_exception_ptr(grove::GreenletExit("killed"))), "killed");
    EXPECT_EQ(exception_message(std::make_exception_ptr(grove::TimeoutError())), "timed out");
    EXPECT_EQ(exception_message(std::make_exception_ptr(grove::TimeoutError(7, "3 seconds"))), "3 seconds");
    EXPECT_EQ(exception_message(std::make_exception_ptr(42)), "");
    EXPECT_EQ(exception_message(std::exception_ptr()), "");
}

TEST(ExceptionMessage, CancellationReportsItsMessage) {
    const Caught caught = catch_from([] { throw grove::TimeoutError(1, "0.5 seconds"); });
    const auto lines = lines_of(format_report("<G>", caught.error, caught.trace));
    ASSERT_GE(lines.size(), 2u);
    EXPECT_EQ(lines[lines.size() - 2], "grove::TimeoutError: 0.5 seconds");
    EXPECT_EQ(lines.back(), "<G> failed with grove::TimeoutError");
}

TEST(Describe, DemanglesTypes) {
    EXPECT_EQ(grove::detail::demangle(typeid(std::vector<int>).name()), "std::vector<int, std::allocator<int> >");
    EXPECT_EQ(grove::detail::type_name(typeid(std::domain_error)), "std::domain_error");
    EXPECT_EQ(grove::detail::demangle("main"), "main");
    EXPECT_EQ(grove::detail::demangle(nullptr), "");
}

TEST(Describe, FunctionNameHasParameterTypes) {
    if (!kSymbolised) GTEST_SKIP() << kNoSymboliser;
    EXPECT_EQ(grove::detail::function_name(reinterpret_cast<const void*>(&divide)), "divide(int, int)");
    EXPECT_EQ(grove::detail::describe_call(&divide, std::tuple(1, 0)), "divide(int, int)(1, 0)");
}

TEST(Describe, UnknownFunctionAddress) {
    EXPECT_TRUE(grove::detail::function_name(nullptr).starts_with("<function at 0x"));
}

TEST(Describe, ShortenCutsLongText) {
    EXPECT_EQ(grove::detail::shorten("short"), "short");
    EXPECT_EQ(grove::detail::shorten(std::string(50, 'a')), std::string(50, 'a'));
    EXPECT_EQ(grove::detail::shorten(std::string(51, 'a')), std::string(47, 'a') + "...");
    const std::string cut = grove::detail::format_argument(std::string(100, 'x'));
    EXPECT_EQ(cut.size(), 50u);
    EXPECT_TRUE(cut.ends_with("..."));
}

TEST(Describe, ShortenKeepsUtf8Whole) {
    std::string text(46, 'a');
    for (int i = 0; i < 10; ++i) text += "\xC3\xA9";  // é
    EXPECT_EQ(grove::detail::shorten(text), std::string(46, 'a') + "...");
}

// spdlog's registry is process-wide: each test leaves "grove" unregistered.
class Logger : public ::testing::Test {
protected:
    void TearDown() override { spdlog::drop("grove"); }
};

TEST_F(Logger, ReportGoesToTheGroveLogger) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    auto user = std::make_shared<spdlog::logger>("grove", sink);
    user->set_pattern("%v");
    spdlog::register_logger(user);
    EXPECT_EQ(grove::detail::logger(), user);
    const auto error = std::make_exception_ptr(std::domain_error("bad"));
    grove::detail::report_error("<G>", error, nullptr);
    EXPECT_EQ(out.str(), "std::domain_error: bad\n<G> failed with std::domain_error\n");
}

TEST_F(Logger, CreatedOnceAcrossThreads) {
    std::shared_ptr<spdlog::logger> a;
    std::shared_ptr<spdlog::logger> b;
    std::thread ta([&a] { a = grove::detail::logger(); });
    std::thread tb([&b] { b = grove::detail::logger(); });
    ta.join();
    tb.join();
    ASSERT_TRUE(a);
    EXPECT_EQ(a, b);
    EXPECT_EQ(spdlog::get("grove"), a);
}

}  // namespace
