// Group::kill shoots each member once (gevent's Group keeps a "dying" set):
// a later kill, blocking or not, only waits for the members already shot,
// even when a Timeout cuts it short; members that join later are shot once.
#include <chrono>
#include <vector>

#include <grove/deterministic.hpp>
#include <grove/greenlet.hpp>
#include <grove/sync/event.hpp>
#include <grove/sync/pool.hpp>
#include <grove/timeout.hpp>

#include "leak_check.hpp"

using namespace std::chrono_literals;
using Group = grove::test::LeakChecked;

namespace {

// A member that swallows every GreenletExit, counting it, until `release` is set.
struct Swallower {
    grove::Event& release;
    int& shots;
    void operator()() const {
        for (;;) {
            try {
                release.wait();
                return;
            } catch (const grove::GreenletExit&) {
                ++shots;
            }
        }
    }
};

}  // namespace

TEST_F(Group, ABlockingKillCutShortByATimeoutDoesNotShootAgain) {
    grove::Deterministic mode;
    grove::Group group;
    grove::Event release;
    int shots = 0;
    for (int i = 0; i < 3; ++i) group.spawn(Swallower{release, shots});
    grove::sleep();
    group.kill({}, false);
    grove::sleep();
    EXPECT_EQ(shots, 3);
    {
        grove::Timeout guard(1s);
        EXPECT_THROW(group.kill(), grove::TimeoutError);
    }
    EXPECT_EQ(shots, 3) << "each member is shot once";
    group.kill({}, true, 1s);  // gevent's Group.kill: its own timeout ends it quietly
    EXPECT_EQ(shots, 3);
    EXPECT_EQ(group.size(), 3u);
    release.set();
    EXPECT_TRUE(group.join());
    EXPECT_EQ(shots, 3);
}

TEST_F(Group, KillShootsMembersThatJoinedAfterAnEarlierKillOnce) {
    grove::Deterministic mode;
    grove::Group group;
    grove::Event release;
    int shots = 0;
    group.spawn(Swallower{release, shots});
    grove::sleep();
    group.kill({}, false);
    grove::sleep();
    group.spawn(Swallower{release, shots});
    grove::sleep();
    group.kill({}, false);
    grove::sleep();
    EXPECT_EQ(shots, 2) << "the new member once, the first not again";
    release.set();
    group.join();
}

TEST_F(Group, AMemberThatLeftAndCameBackCanBeShotAgain) {
    grove::Deterministic mode;
    grove::Group group;
    grove::Event release;
    int shots = 0;
    auto g = group.spawn(Swallower{release, shots});
    grove::sleep();
    group.kill({}, false);
    grove::sleep();
    group.discard(g.get());
    group.add(g);
    group.kill({}, false);
    grove::sleep();
    EXPECT_EQ(shots, 2);
    release.set();
    group.join();
}

TEST_F(Group, BlockingKillWaitsForMembersItShotEarlierAndEmptiesTheGroup) {
    grove::Deterministic mode;
    grove::Group group;
    std::vector<int> order;
    for (int i = 0; i < 3; ++i)
        group.spawn([&order, i] {
            try {
                grove::sleep(3600s);
            } catch (const grove::GreenletExit&) {
                grove::sleep(grove::Duration(i + 1));  // dies a while after the shot
                order.push_back(i);
            }
        });
    grove::sleep();
    group.kill({}, false);
    const auto t0 = grove::now();
    group.kill();
    EXPECT_EQ(grove::now() - t0, std::chrono::seconds(3));
    EXPECT_TRUE(group.empty());
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}
