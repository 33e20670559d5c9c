// C++ exception state is per greenlet (docs/design.md, "Exception globals": libstdc++ keeps it per
// thread, and a switch does not touch it).
#include <gtest/gtest.h>

#include <exception>
#include <stdexcept>
#include <string>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using ExceptionState = test::LeakChecked;

TEST_F(ExceptionState, RethrowInsideCatchMeansMyOwnExceptionAfterOthersThrew) {
    std::string rethrown_a, rethrown_b;
    auto a = spawn([&] {
        try {
            throw std::runtime_error("a");
        } catch (...) {
            sleep(1ms);  // b throws and catches meanwhile
            try {
                throw;
            } catch (const std::runtime_error& e) {
                rethrown_a = e.what();
            }
        }
    });
    auto b = spawn([&] {
        try {
            throw std::runtime_error("b");
        } catch (...) {
            sleep();
            try {
                throw;
            } catch (const std::runtime_error& e) {
                rethrown_b = e.what();
            }
        }
    });
    joinall({a, b});
    EXPECT_EQ(rethrown_a, "a");
    EXPECT_EQ(rethrown_b, "b");
}

TEST_F(ExceptionState, CurrentExceptionIsPerGreenlet) {
    bool main_sees_none = false;
    auto g = spawn([] {
        try {
            throw 42;
        } catch (...) {
            sleep(2ms);
            EXPECT_TRUE(std::current_exception());
        }
    });
    sleep(1ms);  // g is suspended inside its catch block
    main_sees_none = !std::current_exception();
    g->join();
    EXPECT_TRUE(main_sees_none);
}

struct CountsUncaught {
    int* seen;
    ~CountsUncaught() {
        sleep();  // switch while unwinding
        *seen = std::uncaught_exceptions();
    }
};

TEST_F(ExceptionState, UncaughtExceptionsIsPerGreenlet) {
    int in_unwinding = -1;
    int other = -1;
    auto a = spawn([&] {
        try {
            CountsUncaught c{&in_unwinding};
            throw std::runtime_error("unwinding");
        } catch (...) {
        }
    });
    auto b = spawn([&] { other = std::uncaught_exceptions(); });
    joinall({a, b});
    EXPECT_EQ(in_unwinding, 1);
    EXPECT_EQ(other, 0);
}

TEST_F(ExceptionState, GreenletSpawnedInsideACatchStartsClean) {
    bool clean = false;
    Ref<Greenlet<void>> g;
    try {
        throw std::runtime_error("parent");
    } catch (...) {
        g = spawn([&] {
            clean = !std::current_exception() && std::uncaught_exceptions() == 0;
            try {
                throw std::logic_error("child");
            } catch (...) {
            }
        });
    }
    g->join();  // the parent left its catch before the child runs
    EXPECT_TRUE(clean);
}

TEST_F(ExceptionState, FloatingPointControlStateSurvivesASwitch) {
    // Boost's fcontext preserves the FP/SIMD control words across a jump.
    volatile double x = 1.0;
    double sum = 0;
    auto g = spawn([&] {
        for (int i = 0; i < 10; ++i) {
            sum += x / 3.0;
            sleep();
        }
    });
    for (int i = 0; i < 10; ++i) sleep();
    g->join();
    EXPECT_NEAR(sum, 10.0 / 3.0, 1e-12);
}

TEST_F(ExceptionState, SnprintfAndSscanfWorkOnAGreenletStack) {
    auto g = spawn([] {
        char buf[256];
        std::snprintf(buf, sizeof buf, "%d %.3f %s", 42, 3.14159, "grove");
        int i = 0;
        double d = 0;
        char word[16];
        std::sscanf(buf, "%d %lf %15s", &i, &d, word);
        return std::string(buf) + "|" + std::to_string(i) + "|" + word;
    });
    EXPECT_EQ(*g->get(), "42 3.142 grove|42|grove");
}

}  // namespace
}  // namespace grove
