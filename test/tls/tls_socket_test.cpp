// grove tls — TlsSocket and tls_handler against each other and against real
// peers (openssl s_server / s_client, curl) on loopback.
#include <openssl/x509_vfy.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <grove/greenlet.hpp>
#include <grove/io.hpp>
#include <grove/timeout.hpp>
#include <grove/tls.hpp>

#include "leak_check.hpp"
#include "tls_test_util.hpp"

namespace grove {
namespace {

using namespace std::chrono_literals;
using test::Child;
using test::TestPki;

TlsContext server_context(const std::string& name = "server") {
    auto ctx = TlsContext::server();
    ctx.load_cert_chain(TestPki::get().path(name + ".pem"), TestPki::get().path(name + ".key"));
    return ctx;
}

TlsContext trusting_client() {
    auto ctx = TlsContext::client();
    ctx.load_verify_locations(TestPki::get().path("ca.pem"));
    return ctx;
}

void echo(TlsSocket& s, const Address&) {
    char buf[16384];
    while (std::size_t n = s.recv_into(buf, sizeof buf)) s.sendall(buf, n);
    s.shutdown();
}

std::string recv_exactly(TlsSocket& s, std::size_t n) {
    std::string out;
    while (out.size() < n) {
        std::string chunk = s.recv(n - out.size());
        if (chunk.empty()) break;
        out += chunk;
    }
    return out;
}

/// The accept-side greenlets a test leaves are gone at teardown: every test
/// stops its server before the fixture's leak check.
class TlsSocketTest : public test::LeakChecked {};

TEST_F(TlsSocketTest, EchoesBetweenGroveClientAndServer) {
    StreamServer server(Address::ip("127.0.0.1", 0), tls_handler(server_context(), echo));
    server.start();
    TlsSocket c = tls_connect("localhost", server.address().port(), trusting_client(), 5s);
    EXPECT_TRUE(c.handshake_done());
    EXPECT_EQ(c.version(), "TLSv1.3");
    EXPECT_NE(c.peer_subject().find("CN=localhost"), std::string::npos) << c.peer_subject();
    c.sendall("hello tls");
    EXPECT_EQ(recv_exactly(c, 9), "hello tls");
    c.shutdown();               // close_notify: the server's recv returns 0...
    EXPECT_EQ(c.recv(10), "");  // ...and it answers with its own close_notify
    server.stop();
}

TEST_F(TlsSocketTest, VerifiesAnIpAddressAgainstTheCertificate) {
    StreamServer server(Address::ip("127.0.0.1", 0), tls_handler(server_context(), echo));
    server.start();
    TlsSocket c = tls_connect("127.0.0.1", server.address().port(), trusting_client(), 5s);
    c.sendall("x");
    EXPECT_EQ(c.recv(1), "x");
    c.close();
    server.stop();
}

TEST_F(TlsSocketTest, PemStringsAlpnAndMinimumVersion) {
    auto read = [](const std::string& name) {
        Child cat({"cat", TestPki::get().path(name)});
        return cat.read_to_eof();
    };
    auto sctx = TlsContext::server();
    sctx.load_cert_chain_pem(read("server.pem"), read("server.key"));
    sctx.set_alpn_protocols({"http/1.1", "h2"});
    auto cctx = TlsContext::client();
    cctx.load_verify_pem(read("ca.pem"));
    cctx.set_alpn_protocols({"h2", "http/1.1"});
    cctx.set_min_version(TlsVersion::tls1_3);
    std::string server_alpn;
    StreamServer server(Address::ip("127.0.0.1", 0), tls_handler(sctx, [&](TlsSocket& s, const Address&) {
                            server_alpn = s.alpn_protocol();
                            s.sendall("ok");
                            s.shutdown();
                        }));
    server.start();
    TlsSocket c = tls_connect("localhost", server.address().port(), cctx, 5s);
    EXPECT_EQ(recv_exactly(c, 2), "ok");
    EXPECT_EQ(c.alpn_protocol(), "http/1.1");  // the server's preference wins
    EXPECT_EQ(server_alpn, "http/1.1");
    server.stop();
    EXPECT_THROW(cctx.set_alpn_protocols({""}), std::invalid_argument);
}

TEST_F(TlsSocketTest, BadCertificateFilesThrowTlsError) {
    auto ctx = TlsContext::server();
    EXPECT_THROW(ctx.load_cert_chain("/nonexistent.pem", "/nonexistent.key"), TlsError);
    // A key that does not belong to the certificate.
    EXPECT_THROW(ctx.load_cert_chain(TestPki::get().path("server.pem"), TestPki::get().path("wrong.key")), TlsError);
    EXPECT_THROW(TlsContext::client().load_verify_pem("not pem"), TlsError);
}

/// A client rejection: the verify code says why; the server side sees a
/// failed handshake, closes quietly and reports nothing.
long rejected_with(const std::string& cert, const std::string& host) {
    StreamServer server(Address::ip("127.0.0.1", 0), tls_handler(server_context(cert), echo));
    server.start();
    long code = -1;
    try {
        TlsSocket c(create_connection("127.0.0.1", server.address().port(), 5s), trusting_client(),
                    TlsSocket::Role::client, host);
        c.handshake();
    } catch (const TlsError& e) {
        EXPECT_NE(std::string(e.what()).find("grove::TlsSocket::handshake"), std::string::npos) << e.what();
        code = e.verify_code();
    }
    server.stop();
    return code;
}

TEST_F(TlsSocketTest, RejectsTheWrongHostnameByDefault) {
    EXPECT_EQ(rejected_with("wrong", "localhost"), X509_V_ERR_HOSTNAME_MISMATCH);
    EXPECT_EQ(rejected_with("server", "127.0.0.2"), X509_V_ERR_IP_ADDRESS_MISMATCH);
}

TEST_F(TlsSocketTest, RejectsAnExpiredCertificateByDefault) {
    EXPECT_EQ(rejected_with("expired", "localhost"), X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(TlsSocketTest, RejectsASelfSignedCertificateByDefault) {
    EXPECT_EQ(rejected_with("self", "localhost"), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
}

TEST_F(TlsSocketTest, TurningVerificationOffIsExplicit) {
    auto insecure = TlsContext::client();
    EXPECT_THROW(insecure.set_verify(TlsVerify::none), std::logic_error);  // hostname checks first
    insecure.set_check_hostname(false);
    insecure.set_verify(TlsVerify::none);
    StreamServer server(Address::ip("127.0.0.1", 0), tls_handler(server_context("self"), echo));
    server.start();
    TlsSocket c(create_connection("127.0.0.1", server.address().port(), 5s), insecure, TlsSocket::Role::client);
    c.sendall("unverified");
    EXPECT_EQ(recv_exactly(c, 10), "unverified");
    c.close();
    server.stop();
    // A verifying context needs a name to check.
    EXPECT_THROW(TlsSocket(Socket(AF_INET), trusting_client(), TlsSocket::Role::client), std::invalid_argument);
}

TEST_F(TlsSocketTest, LargeTransfersBothWays) {
    StreamServer server(Address::ip("127.0.0.1", 0), tls_handler(server_context(), echo));
    server.start();
    TlsSocket c = tls_connect("localhost", server.address().port(), trusting_client(), 10s);
    std::string big(4 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 4096);
    auto writer = spawn([&] { c.sendall(big); });  // full duplex: one greenlet writes, this one reads
    EXPECT_EQ(recv_exactly(c, big.size()) == big, true);
    writer->join();
    EXPECT_TRUE(writer->successful());
    c.close();
    server.stop();
}

TEST_F(TlsSocketTest, OpensslSClientVerifiesOurServer) {
    StreamServer server(Address::ip("127.0.0.1", 0), tls_handler(server_context(), [](TlsSocket& s, const Address&) {
                            s.sendall("hello from grove\n");
                            s.shutdown();
                        }));
    server.start();
    Child client({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(server.address().port()),
                  "-servername", "localhost", "-verify_hostname", "localhost", "-CAfile", TestPki::get().path("ca.pem"),
                  "-verify_return_error"});
    const std::string out = client.read_until("hello from grove");
    EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
    EXPECT_NE(out.find("hello from grove"), std::string::npos) << out;
    client.close_stdin();
    EXPECT_EQ(client.wait(), 0) << client.read_to_eof();
    server.stop();
}

TEST_F(TlsSocketTest, CurlVerifiesOurServer) {
    StreamServer server(Address::ip("127.0.0.1", 0), tls_handler(server_context(), [](TlsSocket& s, const Address&) {
                            std::string head;
                            while (head.find("\r\n\r\n") == std::string::npos) {
                                std::string chunk = s.recv(4096);
                                if (chunk.empty()) return;
                                head += chunk;
                            }
                            s.sendall("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\ngrove\n");
                            s.shutdown();
                        }));
    server.start();
    Child curl({"curl", "-sS", "--cacert", TestPki::get().path("ca.pem"),
                "https://localhost:" + std::to_string(server.address().port()) + "/"});
    EXPECT_EQ(curl.read_to_eof(), "grove\n");
    EXPECT_EQ(curl.wait(), 0);
    server.stop();
}

/// The port `openssl s_server -accept 127.0.0.1:0` announced, 0 if none.
std::uint16_t s_server_port(Child& s_server) {
    const std::string line = s_server.read_line_starting("ACCEPT 127.0.0.1:");
    return line.empty() ? 0 : static_cast<std::uint16_t>(std::stoi(line.substr(17)));
}

TEST_F(TlsSocketTest, GroveClientAgainstOpensslSServer) {
    Child s_server({"stdbuf", "-oL", "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
                    TestPki::get().path("server.pem"), "-key", TestPki::get().path("server.key"), "-naccept", "1",
                    "-rev"});
    const auto port = s_server_port(s_server);
    ASSERT_NE(port, 0) << s_server.output();
    TlsSocket c = tls_connect("localhost", port, trusting_client(), 5s);
    c.sendall("abcdef\n");
    EXPECT_EQ(recv_exactly(c, 7), "fedcba\n");  // -rev: each line reversed
    c.shutdown();
    EXPECT_EQ(s_server.wait(), 0);
}

TEST_F(TlsSocketTest, GroveClientRejectsAnUntrustedSServer) {
    Child s_server({"stdbuf", "-oL", "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
                    TestPki::get().path("self.pem"), "-key", TestPki::get().path("self.key"), "-naccept", "1", "-rev"});
    const auto port = s_server_port(s_server);
    ASSERT_NE(port, 0) << s_server.output();
    try {
        tls_connect("localhost", port, trusting_client(), 5s);
        ADD_FAILURE() << "a self-signed server was accepted";
    } catch (const TlsError& e) {
        EXPECT_TRUE(e.verification_failed());
        EXPECT_NE(std::string(e.what()).find("self-signed"), std::string::npos) << e.what();
    }
}

TEST_F(TlsSocketTest, HandshakeTimeoutDropsASilentClient) {
    int handled = 0;
    StreamServer server(Address::ip("127.0.0.1", 0),
                        tls_handler(
                            server_context(), [&](TlsSocket&, const Address&) { ++handled; }, 100ms));
    server.start();
    Socket silent = create_connection("127.0.0.1", server.address().port(), 5s);
    // Meanwhile a well-behaved client is served: the accept loop never waits on a handshake.
    TlsSocket good = tls_connect("localhost", server.address().port(), trusting_client(), 5s);
    EXPECT_EQ(good.recv(1), "");  // the handler returned at once
    silent.settimeout(5s);
    const auto t0 = Clock::now();
    EXPECT_EQ(silent.recv(100), "");  // the server gave up on the handshake and closed
    EXPECT_LT(Clock::now() - t0, 3s);
    EXPECT_EQ(handled, 1);
    server.stop();
}

TEST_F(TlsSocketTest, ClientHandshakeTimesOutAgainstASilentServer) {
    Socket listener(AF_INET);
    listener.bind(Address::ip("127.0.0.1", 0));
    listener.listen();
    const auto port = listener.getsockname().port();
    EXPECT_THROW(tls_connect("localhost", port, trusting_client(), 100ms), SocketTimeout);
    // An outer guard's expiry is its own TimeoutError, not the socket's.
    Timeout guard(100ms);
    try {
        tls_connect("localhost", port, trusting_client());
        ADD_FAILURE() << "no timeout";
    } catch (const SocketTimeout&) {
        ADD_FAILURE() << "the guard's error was converted";
    } catch (const TimeoutError& e) {
        EXPECT_TRUE(e.from(guard));
    }
}

TEST_F(TlsSocketTest, KillDuringTheClientHandshakeLeavesNothingBehind) {
    Socket listener(AF_INET);
    listener.bind(Address::ip("127.0.0.1", 0));
    listener.listen();
    bool killed = false;
    auto client = spawn([&] {
        try {
            tls_connect("127.0.0.1", listener.getsockname().port(), trusting_client());
        } catch (const GreenletExit&) {
            killed = true;
            throw;
        }
    });
    Socket peer = listener.accept();
    EXPECT_FALSE(peer.recv(1).empty());  // the ClientHello: the client now waits for our answer
    client->kill();
    peer.settimeout(5s);
    while (!peer.recv(1 << 16).empty()) {
    }  // the rest of the ClientHello, then EOF: the killed client's socket was closed
    EXPECT_TRUE(killed);
    EXPECT_TRUE(client->successful());  // a GreenletExit end
}

TEST_F(TlsSocketTest, StopKillsServerHandshakesInProgress) {
    StreamServer server(Address::ip("127.0.0.1", 0), tls_handler(server_context(), echo, std::nullopt));
    server.start();
    std::vector<Socket> silent;
    for (int i = 0; i < 5; ++i) silent.push_back(create_connection("127.0.0.1", server.address().port(), 5s));
    while (server.connection_count() < 5) grove::sleep(1ms);
    server.stop(Duration::zero());
    EXPECT_EQ(server.connection_count(), 0u);
    for (auto& s : silent) EXPECT_EQ(s.recv(10), "");
}

TEST_F(TlsSocketTest, AnInterruptedSendBreaksTheStream) {
    StreamServer server(Address::ip("127.0.0.1", 0),
                        tls_handler(server_context(), [](TlsSocket&, const Address&) { grove::sleep(30s); }));
    server.start();
    TlsSocket c = tls_connect("localhost", server.address().port(), trusting_client(), 5s);
    c.settimeout(100ms);
    const std::string big(64 << 20, 'x');  // more than the kernel buffers: the peer never reads
    EXPECT_THROW(c.sendall(big), SocketTimeout);
    EXPECT_TRUE(c.broken());
    EXPECT_THROW(c.send("more"), TlsError);
    EXPECT_THROW(c.recv(1), TlsError);
    c.shutdown();  // a no-op on a broken stream
    server.stop(Duration::zero());
}

}  // namespace
}  // namespace grove
