// grove hooks — GROVE_RESOLVER=ares (set by meson for this test): grove::resolve
// and the hooked getaddrinfo() both go through c-ares, so they see the DNS
// server the test runs (glibc could not: it only asks resolv.conf's servers
// on port 53), and the list getaddrinfo returns is freed by freeaddrinfo.
#include <netdb.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include <grove/config.hpp>
#include <grove/io.hpp>

#include "dns_responder.hpp"
#include "hooks_support.hpp"

namespace grove {
namespace {

class AresSelected : public test::Hooked {
protected:
    void SetUp() override {
        if (!ares::available()) GTEST_SKIP() << "grove built without c-ares";
        ASSERT_EQ(config::current().resolver, "ares") << "run through meson test (GROVE_RESOLVER=ares)";
        test::Hooked::SetUp();
    }
    void TearDown() override {
        ares::set_servers("");
        test::Hooked::TearDown();
    }
};

TEST_F(AresSelected, GroveResolveGoesThroughAres) {
    test::DnsResponder dns;
    ares::set_servers(dns.servers_csv());
    EXPECT_EQ(resolve("host9.grove.test", 80, AF_INET), std::vector<Address>{Address::ip("10.0.0.9", 80)});
    EXPECT_GE(dns.queries(), 1);
}

TEST_F(AresSelected, HookedGetaddrinfoGoesThroughAres) {
    test::DnsResponder dns;
    ares::set_servers(dns.servers_csv());
    std::string seen;
    std::string canon;
    spawn([&] {
        addrinfo hints{};
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_CANONNAME;
        addrinfo* res = nullptr;
        ASSERT_EQ(::getaddrinfo("host10.grove.test", "8080", &hints, &res), 0);
        ASSERT_NE(res, nullptr);
        seen = Address(res->ai_addr, res->ai_addrlen).str();
        if (res->ai_canonname) canon = res->ai_canonname;
        EXPECT_EQ(res->ai_socktype, SOCK_STREAM);
        ::freeaddrinfo(res);  // glibc's: the list must have its layout
    })->join();
    EXPECT_EQ(seen, "10.0.0.10:8080");
    EXPECT_EQ(canon, "host10.grove.test");
}

TEST_F(AresSelected, HookedGetaddrinfoReportsAnUnknownName) {
    test::DnsResponder dns;
    ares::set_servers(dns.servers_csv());
    int rc = 0;
    spawn([&] {
        addrinfo* res = nullptr;
        rc = ::getaddrinfo("nowhere.grove.test", nullptr, nullptr, &res);
    })->join();
    EXPECT_EQ(rc, EAI_NONAME);
}

}  // namespace
}  // namespace grove
