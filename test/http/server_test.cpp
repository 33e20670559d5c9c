// grove http — http::Server against raw grove sockets, curl and wrk on
// loopback: keep-alive, pipelining, bodies, limits, timeouts, errors, TLS,
// graceful stop, and a thousand concurrent clients.
#include <sys/socket.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/sync.hpp>
#include <grove/http.hpp>
#include <grove/io.hpp>
#include <grove/timeout.hpp>
#include <grove/tls.hpp>

#include "capture.hpp"
#include "http_test_util.hpp"
#include "leak_check.hpp"
#include "tls_test_util.hpp"

namespace grove::http {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::read_response;
using test::TestPki;

/// Answers "<method> <target> <body-size>:<body>" so tests see what arrived.
Response echo_handler(const Request& req) {
    return Response::text(200, req.method + " " + req.target + " " + std::to_string(req.body.size()) + ":" + req.body);
}

class HttpServerTest : public test::LeakChecked {
protected:
    std::uint16_t start(Handler handler = echo_handler, ServerOptions options = {}) {
        server_ = std::make_unique<Server>(Address::ip("127.0.0.1", 0), std::move(handler), std::move(options));
        server_->start();
        return server_->address().port();
    }
    void TearDown() override {
        if (server_) server_->stop(Duration::zero());
        server_.reset();
        LeakChecked::TearDown();
    }
    std::unique_ptr<Server> server_;
};

Socket connect(std::uint16_t port) { return create_connection("127.0.0.1", port, 5s); }

TEST_F(HttpServerTest, CurlReusesTheConnectionForTwoUrls) {
    const auto port = start();
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    Child curl({"curl", "-sv", base + "/one", base + "/two"});
    const std::string out = curl.read_to_eof();
    EXPECT_EQ(curl.wait(), 0) << out;
    EXPECT_NE(out.find("GET /one 0:"), std::string::npos) << out;
    EXPECT_NE(out.find("GET /two 0:"), std::string::npos) << out;
    EXPECT_NE(out.find("Re-using existing connection"), std::string::npos) << out;
    EXPECT_EQ(server_->accepted_count(), 1u);
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
    const auto port = start();
    Socket c = connect(port);
    c.sendall(
        "GET /1 HTTP/1.1\r\nHost: t\r\n\r\n"
        "POST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
        "GET /3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    std::string buf;
    EXPECT_EQ(read_response(c, buf).body, "GET /1 0:");
    EXPECT_EQ(read_response(c, buf).body, "POST /2 3:abc");
    auto last = read_response(c, buf);
    EXPECT_EQ(last.body, "GET /3 0:");
    EXPECT_EQ(last.headers["connection"], "close");
    EXPECT_EQ(read_response(c, buf).status, 0);  // then EOF
}

/// Sends `n` pipelined GETs in one write (from a second greenlet, so that
/// responses are read while the requests go out) and counts the responses
/// that came back right and in order.
template <class S>
int pipelined_answers(S& c, int n) {
    std::string requests;
    for (int i = 0; i < n; ++i) requests += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
    auto writer = spawn([&] { c.sendall(requests); });
    std::string buf;
    int answered = 0;
    for (int i = 0; i < n; ++i) {
        const auto r = read_response(c, buf);
        if (r.status != 200 || r.body != "GET /" + std::to_string(i) + " 0:") {
            ADD_FAILURE() << "response " << i << ": " << r.status << " " << r.body;
            break;
        }
        ++answered;
    }
    writer->join();
    return answered;
}

// 10,000 requests are ~300 KB of input: the input buffer is compacted
// several times while a request head is half-received.
TEST_F(HttpServerTest, AnswersTenThousandPipelinedRequestsSentInOneWrite) {
    ServerOptions o;
    o.header_timeout = 2s;  // a lost head shows up as a 408 after this
    const auto port = start(echo_handler, o);
    Socket c = connect(port);
    EXPECT_EQ(pipelined_answers(c, 10000), 10000);
}

TEST_F(HttpServerTest, AnswersTenThousandPipelinedRequestsOverTls) {
    ServerOptions o;
    o.header_timeout = 2s;
    o.tls = TlsContext::server();
    o.tls->load_cert_chain(TestPki::get().path("server.pem"), TestPki::get().path("server.key"));
    const auto port = start(echo_handler, std::move(o));
    TlsContext client = TlsContext::client();
    client.load_verify_locations(TestPki::get().path("ca.pem"));
    TlsSocket c = tls_connect("localhost", port, client, 5s);
    EXPECT_EQ(pipelined_answers(c, 10000), 10000);
}

TEST_F(HttpServerTest, ReadsChunkedUploads) {
    const auto port = start();
    Socket c = connect(port);
    c.sendall(
        "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n1;ext=1\r\n,\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n");
    std::string buf;
    EXPECT_EQ(read_response(c, buf).body, "POST /up 12:hello, world");
    // curl streaming stdin is sent chunked as well.
    Child curl({"curl", "-sS", "-T", "-", "http://127.0.0.1:" + std::to_string(port) + "/curl"});
    curl.write(std::string(100000, 'z'));
    curl.close_stdin();
    EXPECT_EQ(curl.read_to_eof(), "PUT /curl 100000:" + std::string(100000, 'z'));
}

TEST_F(HttpServerTest, HonoursExpectContinue) {
    const auto port = start();
    Socket c = connect(port);
    c.sendall("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    std::string buf;
    EXPECT_EQ(read_response(c, buf).status, 100);  // before we send the body
    c.sendall("data");
    EXPECT_EQ(read_response(c, buf).body, "POST /e 4:data");
    // Too large: refused with 413 at once, without the 100.
    Socket big = connect(port);
    big.sendall("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n");
    std::string buf2;
    EXPECT_EQ(read_response(big, buf2).status, 413);
}

int status_for(std::uint16_t port, const std::string& request) {
    Socket c = connect(port);
    c.sendall(request);
    std::string buf;
    auto r = read_response(c, buf);
    EXPECT_EQ(r.headers["connection"], "close") << request.substr(0, 60);
    EXPECT_EQ(read_response(c, buf).status, 0) << "not closed after " << r.status;
    return r.status;
}

TEST_F(HttpServerTest, LimitsAndMalformedRequestsGet4xxAndAClose) {
    ServerOptions o;
    o.max_body_size = 1000;
    const auto port = start(echo_handler, o);
    EXPECT_EQ(status_for(port, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"), 431);
    std::string many = "GET / HTTP/1.1\r\nHost: t\r\n";
    for (int i = 0; i < 150; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(status_for(port, many + "\r\n"), 431);
    EXPECT_EQ(status_for(port, "GET /" + std::string(10000, 'a') + " HTTP/1.1\r\nHost: t\r\n\r\n"), 414);
    EXPECT_EQ(status_for(port, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n"), 413);
    EXPECT_EQ(status_for(port, "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" +
                                   std::string(1024, 'x') + "\r\n0\r\n\r\n"),
              413);
    EXPECT_EQ(status_for(port, "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
    EXPECT_EQ(status_for(port, "GARBAGE\r\n\r\n"), 400);
    EXPECT_EQ(status_for(port, "GET / HTTP/1.1\r\n\r\n"), 400);  // no Host
    EXPECT_EQ(status_for(port, "GET / HTTP/3.0\r\nHost: t\r\n\r\n"), 505);
    // A header that never ends is bounded too (no unbounded buffering).
    EXPECT_EQ(status_for(port, "GET / HTTP/1.1\r\nHost: t\r\nX: " + std::string(100000, 'a')), 431);
}

// RFC 9112 §6: each of these framings is ambiguous (a front end could read
// the body differently), so each is refused with a 400 and a close, never
// read as a request followed by the smuggled one.
TEST_F(HttpServerTest, SmugglingShapesGet400AndAClose) {
    const auto port = start();
    const std::string post = "POST / HTTP/1.1\r\nHost: t\r\n";
    const std::string chunked = post + "Transfer-Encoding: chunked\r\n\r\n";
    const std::string nul(1, '\0');
    const struct {
        const char* what;
        std::string request;
    } cases[] = {
        {"empty Content-Length", post + "Content-Length:\r\n\r\n"},
        {"empty Content-Length beside chunked",
         post + "Content-Length: \r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {"chunked beside empty Content-Length",
         post + "Transfer-Encoding: chunked\r\nContent-Length:\r\n\r\n0\r\n\r\n"},
        {"empty Content-Length beside a second one", post + "Content-Length:\r\nContent-Length: 5\r\n\r\nhello"},
        {"second Content-Length empty", post + "Content-Length: 5\r\nContent-Length:\r\n\r\nhello"},
        {"Content-Length: 5,", post + "Content-Length: 5,\r\n\r\nhello"},
        {"Content-Length: ,5", post + "Content-Length: ,5\r\n\r\nhello"},
        {"Transfer-Encoding chunked + gzip lines",
         post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n"},
        {"Transfer-Encoding chunked + chunked lines",
         post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {"Transfer-Encoding chunked + identity lines",
         post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n"},
        {"chunk size with leading space", chunked + " 5\r\nhello\r\n0\r\n\r\n"},
        {"chunk size with leading tab", chunked + "\t5\r\nhello\r\n0\r\n\r\n"},
        {"bare CR in a chunk extension", chunked + "5;a\rb\r\nhello\r\n0\r\n\r\n"},
        {"NUL in a chunk extension", chunked + "5;a" + nul + "b\r\nhello\r\n0\r\n\r\n"},
        {"bare LF chunk lines", chunked + "5\nhello\n0\n\n"},
        {"bare LF after chunk data", chunked + "5\r\nhello\n0\r\n\r\n"},
        {"bare LF after the last chunk", chunked + "5\r\nhello\r\n0\n\r\n"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(status_for(port, c.request + "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"), 400) << c.what;
}

TEST_F(HttpServerTest, AcceptsContentLengthWithLeadingZeros) {
    const auto port = start();
    Socket c = connect(port);
    c.sendall("POST /z HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::string(40, '0') + "5\r\n\r\nhello");
    std::string buf;
    const auto r = read_response(c, buf);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "POST /z 5:hello");
}

TEST_F(HttpServerTest, ChunkExtensionsHaveATotalCap) {
    ServerOptions o;
    o.max_chunk_extensions = 4096;
    const auto port = start(echo_handler, o);
    // Each line is well under the per-line limit; together they are not.
    std::string body;
    for (int i = 0; i < 20; ++i) body += "1;ext=" + std::string(500, 'e') + "\r\nx\r\n";
    const std::string head = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    EXPECT_EQ(status_for(port, head + body + "0\r\n\r\n"), 400);
    // Below the cap the same shape is fine.
    Socket c = connect(port);
    c.sendall(head + "1;ext=" + std::string(500, 'e') + "\r\nx\r\n0\r\n\r\n");
    std::string buf;
    EXPECT_EQ(read_response(c, buf).body, "POST / 1:x");
}

/// Sends `request`, then one byte every 20 ms until the server's close makes
/// a send fail (or `limit` passes); returns how long the server put up with it.
Duration trickle_until_closed(std::uint16_t port, const std::string& request, Duration limit) {
    Socket c = connect(port);
    c.sendall(request);
    const auto t0 = Clock::now();
    try {
        while (Clock::now() - t0 < limit) {
            c.sendall("x");
            grove::sleep(20ms);
        }
    } catch (const std::system_error&) {
    }
    return Clock::now() - t0;
}

TEST_F(HttpServerTest, TheDrainAfterARefusalHasADeadline) {
    ServerOptions o;
    o.max_body_size = 10;
    o.refuse_drain_timeout = 300ms;
    const auto port = start(echo_handler, o);
    // 413 at once, then a sender that never stops, each byte well within
    // the drain's per-read timeout.
    const auto held = trickle_until_closed(port, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 999999\r\n\r\n", 5s);
    EXPECT_LT(held, 3s);
}

TEST_F(HttpServerTest, ASlowBodyIsCutOffByTheBodyTimeout) {
    ServerOptions o;
    o.body_timeout = 300ms;  // io_timeout (30 s) never fires: a byte comes every 20 ms
    o.refuse_drain_timeout = 100ms;
    const auto port = start(echo_handler, o);
    for (const std::string framing : {"Content-Length: 100000", "Transfer-Encoding: chunked"}) {
        Socket c = connect(port);
        c.sendall("POST / HTTP/1.1\r\nHost: t\r\n" + framing + "\r\n\r\n" + (framing[0] == 'T' ? "186a0\r\n" : ""));
        auto trickle = spawn([&] {
            try {
                for (int i = 0; i < 250; ++i) {
                    c.sendall("x");
                    grove::sleep(20ms);
                }
            } catch (const std::system_error&) {
            }
        });
        std::string buf;
        c.settimeout(10s);
        const auto t0 = Clock::now();
        EXPECT_EQ(read_response(c, buf).status, 408) << framing;
        EXPECT_LT(Clock::now() - t0, 3s) << framing;
        trickle->kill();
    }
}

TEST_F(HttpServerTest, StreamedBodiesReachTheHandlerWhileStillArriving) {
    ServerOptions o;
    o.stream_request_bodies = true;
    o.max_body_size = 64 * 1024 * 1024;
    Event first_half;
    const auto port = start(
        [&](const Request& req) {
            if (!req.body_reader) return Response::text(500, "no reader");
            EXPECT_TRUE(req.body.empty());
            std::size_t total = 0, sum = 0;
            char buf[8192];
            while (const std::size_t n = req.body_reader->read(buf, sizeof buf)) {
                for (std::size_t i = 0; i < n; ++i) sum += static_cast<unsigned char>(buf[i]);
                total += n;
                if (total >= 1000) first_half.set();
            }
            return Response::text(200, std::to_string(total) + " " + std::to_string(sum));
        },
        o);
    for (const bool chunked : {false, true}) {
        first_half.clear();
        Socket c = connect(port);
        const std::string half(1000, 'a');
        c.sendall(chunked ? "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + half + "\r\n"
                          : "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n" + half);
        // The handler has the first half before the second is sent.
        ASSERT_TRUE(first_half.wait(5s)) << (chunked ? "chunked" : "content-length");
        c.sendall(chunked ? "3e8\r\n" + half + "\r\n0\r\n\r\n" : half);
        std::string buf;
        EXPECT_EQ(read_response(c, buf).body, "2000 " + std::to_string(2000 * 'a'));
    }
    // A 32 MiB upload goes through, read by the handler in 8 KiB pieces.
    Socket c = connect(port);
    auto sender = spawn([&] {
        c.sendall("PUT /big HTTP/1.1\r\nHost: t\r\nContent-Length: 33554432\r\n\r\n");
        const std::string mib(1 << 20, 'b');
        for (int i = 0; i < 32; ++i) c.sendall(mib);
    });
    std::string buf;
    EXPECT_EQ(read_response(c, buf).body, "33554432 " + std::to_string(33554432ull * 'b'));
    sender->join();
}

TEST_F(HttpServerTest, StreamedBodiesLeftUnreadAreSkippedAndErrorsAnswered) {
    ServerOptions o;
    o.stream_request_bodies = true;
    o.max_body_size = 100;
    const auto port = start(
        [](const Request& req) {
            if (req.path == "/all") return Response::text(200, "got " + req.body_reader->read_all());
            return Response::text(200, "ignored");  // the body is never read
        },
        o);
    Socket c = connect(port);
    c.sendall(
        "POST /skip HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
        "POST /skip HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        "POST /all HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n");
    std::string buf;
    EXPECT_EQ(read_response(c, buf).body, "ignored");
    EXPECT_EQ(read_response(c, buf).body, "ignored");
    EXPECT_EQ(read_response(c, buf).body, "got xyz");
    // Errors found while the handler reads become the client's answer.
    EXPECT_EQ(status_for(port, "POST /all HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n" +
                                   std::string(101, 'x') + "\r\n0\r\n\r\n"),
              413);
    EXPECT_EQ(status_for(port, "POST /all HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
    // Expect: 100-continue is answered by the handler's first read.
    Socket e = connect(port);
    e.sendall("POST /all HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    std::string ebuf;
    EXPECT_EQ(read_response(e, ebuf).status, 100);
    e.sendall("ok");
    EXPECT_EQ(read_response(e, ebuf).body, "got ok");
}

TEST_F(HttpServerTest, HeadAndHttp10) {
    const auto port = start();
    Socket c = connect(port);
    c.sendall("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string buf;
    auto head = read_response(c, buf, true);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.headers["content-length"], "10");  // the length GET would have
    EXPECT_TRUE(buf.empty());
    Socket old = connect(port);
    old.sendall("GET /old HTTP/1.0\r\n\r\n");
    std::string buf2;
    EXPECT_EQ(read_response(old, buf2).body, "GET /old 0:");
    EXPECT_EQ(read_response(old, buf2).status, 0);  // HTTP/1.0: closed after one
}

TEST_F(HttpServerTest, StreamsChunkedResponses) {
    const auto port = start([](const Request&) {
        return Response::streaming(200, [](BodyWriter& w) {
            for (int i = 0; i < 3; ++i) {
                w.write("tick " + std::to_string(i) + "\n");
                grove::sleep(10ms);
            }
        });
    });
    Socket c = connect(port);
    c.sendall("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string buf;
    auto r = read_response(c, buf);
    EXPECT_EQ(r.headers["transfer-encoding"], "chunked");
    EXPECT_EQ(r.body, "tick 0\ntick 1\ntick 2\n");
    Child curl({"curl", "-sS", "http://127.0.0.1:" + std::to_string(port) + "/"});
    EXPECT_EQ(curl.read_to_eof(), "tick 0\ntick 1\ntick 2\n");
}

TEST_F(HttpServerTest, HandlerErrorsGet500AndTheUsualReport) {
    test::StderrCapture err;
    const auto port = start([](const Request& req) -> Response {
        if (req.path == "/boom") throw std::runtime_error("handler exploded");
        // A handler's own socket error is a real error, not a client abort.
        if (req.path == "/backend") throw std::system_error(ECONNREFUSED, std::generic_category(), "backend down");
        return Response::text(200, "fine");
    });
    Socket be = connect(port);
    be.sendall("GET /backend HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string be_buf;
    EXPECT_EQ(read_response(be, be_buf).status, 500);
    Socket c = connect(port);
    c.sendall("GET /boom HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string buf;
    auto r = read_response(c, buf);
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.headers["connection"], "close");
    EXPECT_EQ(read_response(c, buf).status, 0);
    Socket ok = connect(port);  // the server lives on
    ok.sendall("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string buf2;
    EXPECT_EQ(read_response(ok, buf2).body, "fine");
    grove::sleep(50ms);  // reports are printed asynchronously
    const std::string text = err.take();
    EXPECT_NE(text.find("handler exploded"), std::string::npos) << text;
    EXPECT_NE(text.find("failed with std::runtime_error"), std::string::npos) << text;
    EXPECT_NE(text.find("backend down"), std::string::npos) << text;
    EXPECT_NE(text.find("failed with std::system_error"), std::string::npos) << text;
    EXPECT_EQ(server_->client_abort_count(), 0u);
}

/// Makes the kernel answer with a RST instead of a FIN, then closes.
void reset(Socket& s) {
    const ::linger hard{1, 0};
    ::setsockopt(s.fileno(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    s.close();
}
void reset(TlsSocket& s) {
    reset(s.socket());
    s.close();
}

/// Four ordinary ways for a client to go away — a reset mid-header,
/// mid-body and with responses pending, and one that never reads until
/// io_timeout — against a server with 256 KiB responses; `open()` makes a
/// connected client (plain or TLS). Each must end its connection quietly:
/// nothing on stderr at the default log level, one count each.
template <class Open>
void expect_quiet_client_aborts(Server& server, Event& handled, Open open) {
    test::StderrCapture err;
    {
        auto c = open();
        c.sendall("GET / HTTP/1.1\r\nHo");
        grove::sleep(20ms);  // lets the server read it (a RST before that is as quiet)
        reset(c);
    }
    {
        auto c = open();
        c.sendall("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc");
        grove::sleep(20ms);
        reset(c);
    }
    std::string pipelined;
    for (int i = 0; i < 64; ++i) pipelined += "GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
    {
        auto c = open();
        handled.clear();
        c.sendall(pipelined);
        ASSERT_TRUE(handled.wait(5s));
        grove::sleep(20ms);
        reset(c);  // 16 MiB of responses are still to be written
    }
    {
        auto c = open();  // never reads: the server's write times out
        c.sendall(pipelined);
        const auto t0 = Clock::now();
        while (server.connection_count() > 0 && Clock::now() - t0 < 10s) grove::sleep(10ms);
    }
    const auto t0 = Clock::now();
    while (server.connection_count() > 0 && Clock::now() - t0 < 10s) grove::sleep(10ms);
    EXPECT_EQ(server.connection_count(), 0u);
    grove::sleep(50ms);  // error reports are printed asynchronously
    const std::string text = err.take();
    EXPECT_EQ(text.find("Traceback"), std::string::npos) << text;
    EXPECT_EQ(text.find("failed with"), std::string::npos) << text;
    EXPECT_EQ(server.client_abort_count(), 4u);
}

Response big_or_echo(Event& handled, const Request& req) {
    if (req.path != "/big") return echo_handler(req);
    handled.set();
    return Response::text(200, std::string(256 * 1024, 'b'));
}

TEST_F(HttpServerTest, ClientAbortsAreQuietAndCounted) {
    Event handled;
    ServerOptions o;
    o.io_timeout = 300ms;
    const auto port = start([&](const Request& req) { return big_or_echo(handled, req); }, o);
    expect_quiet_client_aborts(*server_, handled, [&] { return connect(port); });
}

TEST_F(HttpServerTest, TlsClientAbortsAreQuietAndCounted) {
    Event handled;
    ServerOptions o;
    o.io_timeout = 300ms;
    o.tls = TlsContext::server();
    o.tls->load_cert_chain(TestPki::get().path("server.pem"), TestPki::get().path("server.key"));
    const auto port = start([&](const Request& req) { return big_or_echo(handled, req); }, std::move(o));
    TlsContext client = TlsContext::client();
    client.load_verify_locations(TestPki::get().path("ca.pem"));
    expect_quiet_client_aborts(*server_, handled, [&] { return tls_connect("localhost", port, client, 5s); });
}

TEST_F(HttpServerTest, SlowlorisIsCutOffWhileOthersAreServed) {
    ServerOptions o;
    o.header_timeout = 400ms;
    const auto port = start(echo_handler, o);
    Socket slow = connect(port);
    // The classic one byte per second, scaled down with the timeout: one byte
    // per 50 ms against a 400 ms header timeout, so no single read ever idles
    // long enough for a per-read timeout to catch it.
    auto loris = spawn([&] {
        const std::string req = "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + std::string(100, 'a');
        try {
            for (char ch : req) {
                slow.sendall(std::string(1, ch));
                grove::sleep(50ms);
            }
        } catch (const std::system_error&) {
            // reset: the server closed on us
        }
    });
    int served = 0;
    Socket fast = connect(port);
    std::string buf;
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < 800ms) {
        fast.sendall("GET /fast HTTP/1.1\r\nHost: t\r\n\r\n");
        if (read_response(fast, buf).status == 200) ++served;
        grove::sleep(20ms);
    }
    std::string slow_buf;
    slow.settimeout(5s);
    const auto r = read_response(slow, slow_buf);
    EXPECT_EQ(r.status, 408);
    loris->kill();
    EXPECT_GE(served, 10);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionsAreClosed) {
    ServerOptions o;
    o.idle_timeout = 100ms;
    const auto port = start(echo_handler, o);
    Socket c = connect(port);
    c.sendall("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string buf;
    EXPECT_EQ(read_response(c, buf).status, 200);
    const auto t0 = Clock::now();
    EXPECT_EQ(read_response(c, buf).status, 0);  // EOF after the idle timeout
    EXPECT_LT(Clock::now() - t0, 3s);
}

TEST_F(HttpServerTest, GracefulStopFinishesRequestsInProgress) {
    const auto port = start([](const Request& req) {
        if (req.path == "/slow") grove::sleep(200ms);
        return Response::text(200, "done " + req.path);
    });
    Socket idle = connect(port);
    idle.sendall("GET /first HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string idle_buf;
    EXPECT_EQ(read_response(idle, idle_buf).status, 200);
    Socket busy = connect(port);
    busy.sendall("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    grove::sleep(50ms);  // the slow request is in its handler
    server_->stop(5s);
    std::string buf;
    auto r = read_response(busy, buf);
    EXPECT_EQ(r.body, "done /slow");
    EXPECT_EQ(r.headers["connection"], "close");
    EXPECT_EQ(read_response(idle, idle_buf).status, 0);  // closed at once, no response
    EXPECT_THROW(connect(port), std::system_error);      // no longer accepting
}

TEST_F(HttpServerTest, ServesHttpsToCurlWithKeepAlive) {
    ServerOptions o;
    o.tls = TlsContext::server();
    o.tls->load_cert_chain(TestPki::get().path("server.pem"), TestPki::get().path("server.key"));
    const auto port = start(
        [](const Request& req) { return Response::text(200, std::string(req.tls ? "tls " : "plain ") + req.path); },
        std::move(o));
    const std::string base = "https://localhost:" + std::to_string(port);
    Child curl({"curl", "-sv", "--cacert", TestPki::get().path("ca.pem"), base + "/a", base + "/b"});
    const std::string out = curl.read_to_eof();
    EXPECT_EQ(curl.wait(), 0) << out;
    EXPECT_NE(out.find("tls /a"), std::string::npos) << out;
    EXPECT_NE(out.find("tls /b"), std::string::npos) << out;
    EXPECT_EQ(server_->accepted_count(), 1u);
    // A plain-text client on the TLS port is dropped without disturbing anyone.
    Socket plain = connect(port);
    plain.sendall("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    plain.settimeout(5s);
    std::string buf;
    try {
        EXPECT_EQ(read_response(plain, buf).status, 0);  // EOF...
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), ECONNRESET);  // ...or a reset
    }
}

TEST_F(HttpServerTest, AThousandConcurrentKeepAliveClients) {
    const auto port = start();
    constexpr int kClients = 1000;
    constexpr int kRequests = 3;
    int ok = 0;
    std::vector<Ref<GreenletBase>> clients;
    for (int i = 0; i < kClients; ++i)
        clients.push_back(spawn([&, i] {
            Socket c = create_connection("127.0.0.1", port, 10s);
            std::string buf;
            for (int k = 0; k < kRequests; ++k) {
                const std::string path = "/c" + std::to_string(i) + "/" + std::to_string(k);
                c.sendall("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n");
                if (read_response(c, buf).body == "GET " + path + " 0:") ++ok;
            }
        }));
    joinall(clients, 20s);
    EXPECT_EQ(ok, kClients * kRequests);
    EXPECT_EQ(server_->accepted_count(), static_cast<std::size_t>(kClients));
}

TEST_F(HttpServerTest, WrkLoad) {
    if (::system("command -v wrk >/dev/null 2>&1") != 0) GTEST_SKIP() << "wrk not installed";
    const auto port = start([](const Request&) { return Response::text(200, "Hello, World!\n"); });
    Child wrk({"wrk", "-t1", "-c32", "-d1s", "http://127.0.0.1:" + std::to_string(port) + "/"});
    const std::string out = wrk.read_to_eof(std::chrono::seconds(15));
    EXPECT_EQ(wrk.wait(), 0) << out;
    EXPECT_NE(out.find("Requests/sec"), std::string::npos) << out;
    EXPECT_EQ(out.find("Non-2xx"), std::string::npos) << out;
    EXPECT_EQ(out.find("Socket errors"), std::string::npos) << out;
}

}  // namespace
}  // namespace grove::http
