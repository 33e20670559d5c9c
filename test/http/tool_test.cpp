// grove http — tools/net/http_server over HTTPS (--tls-cert/--tls-key),
// checked with curl, and its clean exit on SIGTERM.
#include <signal.h>

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "leak_check.hpp"
#include "tls_test_util.hpp"

namespace grove {
namespace {

using test::Child;
using test::TestPki;

class HttpServerTool : public test::LeakChecked {};

TEST_F(HttpServerTool, ServesHttpsWithTheGivenCertificate) {
    const char* exe = std::getenv("GROVE_HTTP_SERVER");
    ASSERT_NE(exe, nullptr) << "run through meson test";
    Child server({exe, "--port", "0", "--threads", "2", "--tls-cert", TestPki::get().path("server.pem"), "--tls-key",
                  TestPki::get().path("server.key")});
    const std::string line = server.read_line_starting("listening on 127.0.0.1:");
    ASSERT_FALSE(line.empty()) << server.output();
    const std::string url = "https://localhost:" + line.substr(line.rfind(':') + 1) + "/";
    Child curl({"curl", "-sS", "--cacert", TestPki::get().path("ca.pem"), url, url});
    EXPECT_EQ(curl.read_to_eof(), "Hello, World!\nHello, World!\n");
    EXPECT_EQ(curl.wait(), 0);
    Child insecure({"curl", "-sS", url});  // no CA: curl must refuse our certificate
    insecure.read_to_eof();
    EXPECT_NE(insecure.wait(), 0);
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait(), 0) << server.output();
}

}  // namespace
}  // namespace grove
