// The rules for interrupts that meet at one greenlet (lib/core/interrupts.hpp),
// on the real PendingInterrupts with real (unarmed) Timeouts: which one is
// thrown first, which waits, and which is dropped.
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>

#include <grove/exceptions.hpp>
#include <grove/timeout.hpp>

#include "interrupts.hpp"
#include "runtime.hpp"

using namespace std::chrono_literals;

namespace grove {
namespace {

using detail::Interrupt;
using detail::kKillSource;
using detail::kSignalSource;
using detail::PendingInterrupts;
using detail::Runtime;
using detail::TimeoutDelivery;

Interrupt kill(const char* what) { return {std::make_exception_ptr(std::runtime_error(what)), kKillSource}; }

/// The message of the exception in `i` (a TimeoutError's, or a kill's).
std::string what_of(const Interrupt& i) {
    try {
        std::rethrow_exception(i.error);
    } catch (const std::exception& e) {
        return e.what();
    } catch (const TimeoutError& e) {
        return e.what();
    }
}

/// A guard that is never armed: only its error and its queue link are used.
struct Guard {
    explicit Guard(const char* what)
        : timeout(1s, std::make_exception_ptr(std::runtime_error(what)), /*start=*/false) {}
    Timeout timeout;
};

TEST(PendingInterrupts, AKillOutranksAWaitingTimeoutWhichIsThrownAfterIt) {
    PendingInterrupts p;
    Guard t("timeout");
    EXPECT_TRUE(p.deliver(t.timeout));
    EXPECT_TRUE(p.deliver(kill("kill")));
    EXPECT_TRUE(p.kill());
    EXPECT_EQ(what_of(p.take()), "kill");
    ASSERT_TRUE(p.any());  // the displaced Timeout moved up again
    EXPECT_FALSE(p.kill());
    EXPECT_EQ(what_of(p.take()), "timeout");
    EXPECT_FALSE(p.any());
    EXPECT_EQ(Runtime::timeout_delivery(t.timeout), TimeoutDelivery::None);
}

TEST(PendingInterrupts, ASecondKillKeepsTheFirst) {
    PendingInterrupts p;
    EXPECT_TRUE(p.deliver(kill("first")));
    EXPECT_FALSE(p.deliver(kill("second")));
    EXPECT_EQ(what_of(p.take()), "first");
    EXPECT_FALSE(p.any());
}

TEST(PendingInterrupts, TimeoutsThatFireBehindAnotherInterruptAreQueuedInFiringOrder) {
    PendingInterrupts p;
    Guard a("a"), b("b");
    EXPECT_TRUE(p.deliver(kill("kill")));
    EXPECT_FALSE(p.deliver(a.timeout));
    EXPECT_FALSE(p.deliver(b.timeout));
    EXPECT_EQ(Runtime::timeout_delivery(a.timeout), TimeoutDelivery::Queued);
    EXPECT_EQ(what_of(p.take()), "kill");
    EXPECT_EQ(Runtime::timeout_delivery(a.timeout), TimeoutDelivery::InSlot);
    EXPECT_EQ(what_of(p.take()), "a");
    EXPECT_EQ(what_of(p.take()), "b");
    EXPECT_FALSE(p.any());
}

TEST(PendingInterrupts, AWithdrawnTimeoutIsNeverThrownWhetherQueuedOrWaiting) {
    PendingInterrupts p;
    Guard a("a"), b("b"), c("c");
    EXPECT_TRUE(p.deliver(a.timeout));
    EXPECT_FALSE(p.deliver(b.timeout));
    EXPECT_FALSE(p.deliver(c.timeout));
    p.withdraw(b.timeout);  // queued, in the middle
    EXPECT_EQ(Runtime::timeout_delivery(b.timeout), TimeoutDelivery::None);
    p.withdraw(a.timeout);  // waiting in the slot: the next one moves up
    ASSERT_TRUE(p.any());
    EXPECT_EQ(what_of(p.take()), "c");
    EXPECT_FALSE(p.any());
}

TEST(PendingInterrupts, ASignalGoesOnlyIntoAnEmptySlotAndIsWithdrawnBySource) {
    PendingInterrupts p;
    EXPECT_TRUE(p.deliver(kill("kill")));
    EXPECT_FALSE(p.deliver({std::make_exception_ptr(std::runtime_error("signal")), kSignalSource}));
    EXPECT_EQ(what_of(p.take()), "kill");
    EXPECT_TRUE(p.deliver({std::make_exception_ptr(std::runtime_error("signal")), kSignalSource}));
    p.withdraw(kKillSource);  // not a kill: stays
    EXPECT_TRUE(p.any());
    p.withdraw(kSignalSource);
    EXPECT_FALSE(p.any());
}

TEST(PendingInterrupts, ClearingAtDeathReleasesEveryQueuedTimeout) {
    PendingInterrupts p;
    Guard a("a"), b("b");
    EXPECT_TRUE(p.deliver(a.timeout));
    EXPECT_FALSE(p.deliver(b.timeout));
    p.clear();
    EXPECT_FALSE(p.any());
    // Their cancel() must no longer reach the dead greenlet's record.
    EXPECT_EQ(Runtime::timeout_delivery(a.timeout), TimeoutDelivery::None);
    EXPECT_EQ(Runtime::timeout_delivery(b.timeout), TimeoutDelivery::None);
}

}  // namespace
}  // namespace grove
