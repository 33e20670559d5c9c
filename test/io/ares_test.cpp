// grove io — the c-ares resolver against a DNS server the test runs itself
// (test/support/dns_responder.hpp): A and AAAA answers, NXDOMAIN, /etc/hosts,
// many lookups at once on one hub, and kill/Timeout releasing the query.
#include <dirent.h>
#include <netdb.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/io.hpp>
#include <grove/timeout.hpp>

#include "dns_responder.hpp"
#include "leak_check.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;

class Ares : public test::LeakChecked {
protected:
    void SetUp() override {
        if (!ares::available()) GTEST_SKIP() << "grove built without c-ares";
    }
    void TearDown() override {
        if (ares::available()) ares::set_servers("");
        test::LeakChecked::TearDown();
    }
};

/// Open file descriptors of this process: a released query leaves none.
int open_fds() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d)) ++n;
        ::closedir(d);
    }
    return n;
}

std::vector<std::string> ips(const std::vector<Address>& addrs) {
    std::vector<std::string> out;
    for (const auto& a : addrs) {
        std::string s = a.str();
        out.push_back(s.substr(0, s.rfind(':')));  // drop ":port"
    }
    return out;
}

TEST_F(Ares, ResolvesARecordsFromTheServer) {
    test::DnsResponder dns;
    dns.add("www.example.test", {"192.0.2.1", "192.0.2.2"});
    ares::set_servers(dns.servers_csv());
    const auto addrs = ares::resolve("www.example.test", 80, AF_INET);
    EXPECT_EQ(ips(addrs), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
    EXPECT_EQ(addrs.at(0).port(), 80);
    EXPECT_GE(dns.queries(), 1);
}

TEST_F(Ares, ResolvesAaaaRecords) {
    test::DnsResponder dns;
    ares::set_servers(dns.servers_csv());
    const auto addrs = ares::resolve("host5.grove.test", 443, AF_INET6);
    ASSERT_EQ(addrs.size(), 1u);
    EXPECT_EQ(addrs[0].family(), AF_INET6);
    EXPECT_EQ(addrs[0].str(), "[fd00::5]:443");
}

TEST_F(Ares, UnspecifiedFamilyGivesBoth) {
    test::DnsResponder dns;
    ares::set_servers(dns.servers_csv());
    const auto addrs = ares::resolve("host258.grove.test", 1);
    std::vector<int> families;
    for (const auto& a : addrs) families.push_back(a.family());
    EXPECT_NE(std::find(families.begin(), families.end(), AF_INET), families.end());
    EXPECT_NE(std::find(families.begin(), families.end(), AF_INET6), families.end());
    EXPECT_NE(std::find(addrs.begin(), addrs.end(), Address::ip("10.0.1.2", 1)), addrs.end());
}

TEST_F(Ares, UnknownNameIsAResolveErrorWithEaiNoname) {
    test::DnsResponder dns;
    ares::set_servers(dns.servers_csv());
    try {
        ares::resolve("nowhere.grove.test", 80, AF_INET);
        FAIL() << "resolved an unknown name";
    } catch (const ResolveError& e) {
        EXPECT_EQ(e.code(), EAI_NONAME);
        EXPECT_NE(std::string(e.what()).find("nowhere.grove.test"), std::string::npos) << e.what();
    }
}

TEST_F(Ares, EtcHostsIsReadBeforeAskingTheServer) {
    test::DnsResponder dns;
    ares::set_servers(dns.servers_csv());
    const auto addrs = ares::resolve("localhost", 7, AF_INET);
    EXPECT_EQ(ips(addrs), (std::vector<std::string>{"127.0.0.1"}));
    EXPECT_EQ(dns.queries(), 0);
}

TEST_F(Ares, ManyLookupsRunAtOnceOnOneHub) {
    test::DnsResponder dns;
    ares::set_servers(dns.servers_csv());
    int right = 0;
    std::vector<Ref<GreenletBase>> gs;
    for (int i = 0; i < 200; ++i)
        gs.push_back(spawn([&, i] {
            const auto a = ares::resolve("host" + std::to_string(i) + ".grove.test", 80, AF_INET);
            if (a.size() == 1 && a[0] == Address::ip("10.0.0." + std::to_string(i % 256), 80)) ++right;
        }));
    joinall(gs, 20s);
    EXPECT_EQ(right, 200);
}

TEST_F(Ares, TimeoutReleasesTheQuery) {
    test::DnsResponder dns;
    dns.silent(true);
    ares::set_servers(dns.servers_csv());
    (void)ares::resolve("localhost", 1, AF_INET);  // the thread's template channel exists now
    const int fds = open_fds();
    EXPECT_THROW(
        {
            Timeout t(100ms);
            ares::resolve("host1.grove.test", 80, AF_INET);
        },
        TimeoutError);
    EXPECT_GE(dns.queries(), 1);
    EXPECT_EQ(open_fds(), fds) << "the query's socket is still open";
}

TEST_F(Ares, KillReleasesTheQuery) {
    test::DnsResponder dns;
    dns.silent(true);
    ares::set_servers(dns.servers_csv());
    (void)ares::resolve("localhost", 1, AF_INET);
    const int fds = open_fds();
    bool returned = false;
    auto g = spawn([&] {
        ares::resolve("host2.grove.test", 80);
        returned = true;
    });
    while (dns.queries() == 0) sleep();
    EXPECT_GT(open_fds(), fds);  // its socket, while it waits
    g->kill();
    EXPECT_TRUE(g->dead());
    EXPECT_FALSE(returned);
    EXPECT_EQ(open_fds(), fds) << "the query's socket is still open";
}

TEST_F(Ares, EmptyHostIsAResolveError) {
    try {
        ares::resolve("", 80);
        FAIL() << "resolved an empty name";
    } catch (const ResolveError& e) {
        EXPECT_EQ(e.code(), EAI_NONAME);
    }
}

TEST_F(Ares, SetServersRejectsGarbage) { EXPECT_THROW(ares::set_servers("not an address"), std::invalid_argument); }

}  // namespace
}  // namespace grove
