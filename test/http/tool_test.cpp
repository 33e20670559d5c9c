// grove http — tools/net/grove-http-server over HTTPS (--tls-cert/--tls-key),
// checked with curl, and its clean exit on SIGTERM; its streaming endpoint
// and request-body echo.
#include <signal.h>

#include <cstdlib>
#include <string>
#include <system_error>

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

TEST_F(HttpServerTool, StreamsLargeResponsesAndEchoesUploads) {
    const char* exe = std::getenv("GROVE_HTTP_SERVER");
    ASSERT_NE(exe, nullptr) << "run through meson test";
    Child server({exe, "--port", "0", "--max-body", "8000000"});
    const std::string line = server.read_line_starting("listening on 127.0.0.1:");
    ASSERT_FALSE(line.empty()) << server.output();
    const std::string base = "http://127.0.0.1:" + line.substr(line.rfind(':') + 1);
    // /stream?bytes=N: N bytes, chunked.
    Child stream({"curl", "-sS", base + "/stream?bytes=3000000"});
    const std::string streamed = stream.read_to_eof();
    EXPECT_EQ(stream.wait(), 0);
    EXPECT_EQ(streamed.size(), 3000000u);
    EXPECT_EQ(streamed.find_first_not_of("0123456789abcdef\n"), std::string::npos);
    // /echo: the request body comes back (chunked upload from stdin).
    const std::string payload(2000000, 'p');
    Child echo({"curl", "-sS", "-T", "-", base + "/echo"});
    echo.write(payload);
    echo.close_stdin();
    EXPECT_EQ(echo.read_to_eof(), payload);
    EXPECT_EQ(echo.wait(), 0);
    // /upload: counted, never held whole; beyond --max-body, 413.
    Child upload({"curl", "-sS", "-T", "-", base + "/upload"});
    upload.write(std::string(7000000, 'u'));
    upload.close_stdin();
    EXPECT_EQ(upload.read_to_eof(), "7000000 bytes\n");
    Child big({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Length: 9000000", "-T", "-",
               base + "/upload"});
    try {
        big.write(std::string(9000000, 'u'));
    } catch (const std::system_error&) {
        // EPIPE: curl took the 413 without sending the body (Expect: 100-continue)
    }
    big.close_stdin();
    EXPECT_EQ(big.read_to_eof(), "413");
    server.signal(SIGTERM);
    EXPECT_EQ(server.wait(), 0) << server.output();
}

}  // namespace
}  // namespace grove
