// The unhandled-error report: traceback from the throw point, the exception,
// and describe() + " failed with " + type — printed once, asynchronously.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "capture.hpp"
#include "leak_check.hpp"

using namespace std::chrono_literals;

[[gnu::noinline]] int divide(int a, int b) {
    if (b == 0) throw std::domain_error("integer division or modulo by zero");
    return a / b;
}

namespace grove {
namespace {

using ErrorReport = test::LeakChecked;

// Seed document: gevent.spawn(lambda: 1/0); gevent.sleep(1) → traceback + "<Greenlet ...> failed with
// ZeroDivisionError"
TEST_F(ErrorReport, FailedGreenletPrintsTracebackAndSignatureWithArguments) {
    test::StderrCapture err;
    auto g = spawn(&divide, 1, 0);
    sleep(1ms);
    const std::string text = err.take();
    EXPECT_EQ(text.rfind("Traceback (most recent call last):", 0), 0u) << text;
    EXPECT_NE(text.find("divide(int, int)"), std::string::npos) << text;
    EXPECT_NE(text.find("error_report_test.cpp"), std::string::npos) << "frame with file:line\n" << text;
    EXPECT_NE(text.find("\nstd::domain_error: integer division or modulo by zero\n"), std::string::npos) << text;
    EXPECT_NE(text.find("<Greenlet at 0x"), std::string::npos) << text;
    EXPECT_NE(text.find(": divide(int, int)(1, 0)> failed with std::domain_error"), std::string::npos) << text;
    EXPECT_THROW(g->get(), std::domain_error);  // still retrievable
}

TEST_F(ErrorReport, ReportIsPrintedOnceEvenIfJoinedAndGotMany) {
    test::StderrCapture err;
    auto g = spawn([] { throw std::runtime_error("once"); });
    g->join();
    EXPECT_THROW(g->get(), std::runtime_error);
    EXPECT_THROW(g->get(), std::runtime_error);
    sleep(1ms);
    EXPECT_EQ(test::count_occurrences(err.take(), "std::runtime_error: once"), 1);
}

TEST_F(ErrorReport, ReportComesBeforeTheJoinerResumes) {
    test::StderrCapture err;
    auto g = spawn([] { throw std::runtime_error("early"); });
    g->join();
    EXPECT_NE(err.take().find("std::runtime_error: early"), std::string::npos);
}

TEST_F(ErrorReport, LambdaIsNamedByItsClosureType) {
    test::StderrCapture err;
    auto g = spawn(
        [](int x) {
            if (x > 0) throw std::range_error("lambda");
            return x;
        },
        3);
    g->join();
    const std::string text = err.take();
    EXPECT_NE(text.find("lambda(int)"), std::string::npos) << text;
    EXPECT_NE(text.find("(3)> failed with std::range_error"), std::string::npos) << text;
}

TEST_F(ErrorReport, GreenletExitEndsPrintNothing) {
    test::StderrCapture err;
    auto g = spawn([] { sleep(1s); });
    sleep();
    g->kill();
    auto h = spawn([] { throw GreenletExit(); });
    h->join();
    sleep(1ms);
    EXPECT_EQ(err.take(), "");
}

struct Custom : Greenlet<void> {
    void run() override { throw std::invalid_argument("custom body"); }
    std::string describe() const override { return "<my very own greenlet>"; }
};

// Seed document: subclassing to customise the string printed after the traceback.
TEST_F(ErrorReport, SubclassDescribeChangesTheReport) {
    test::StderrCapture err;
    auto g = make<Custom>();
    g->start();
    g->join();
    const std::string text = err.take();
    EXPECT_NE(text.find("<my very own greenlet> failed with std::invalid_argument"), std::string::npos) << text;
}

TEST_F(ErrorReport, UnformattableArgumentsShowTheirType) {
    struct Opaque {};
    test::StderrCapture err;
    auto g = spawn([](Opaque, std::string s) { throw std::runtime_error(s); }, Opaque{}, std::string("why"));
    g->join();
    const std::string text = err.take();
    EXPECT_NE(text.find("Opaque>, \"why\")"), std::string::npos) << text;
}

TEST_F(ErrorReport, NonStdExceptionsAreReportedByType) {
    test::StderrCapture err;
    auto g = spawn([] { throw 42; });
    g->join();
    const std::string text = err.take();
    EXPECT_NE(text.find("\nint\n"), std::string::npos) << text;
    EXPECT_NE(text.find("failed with int"), std::string::npos) << text;
}

}  // namespace
}  // namespace grove
