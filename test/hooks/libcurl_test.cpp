// Hooks: libcurl's blocking easy interface (curl_easy_perform), unchanged, in
// 100 greenlets against a tiny HTTP server the test runs in greenlets.
#include <curl/curl.h>

#include <string>
#include <vector>

#include <grove/greenlet.hpp>

#include "hooks_support.hpp"

namespace grove::test {
namespace {

constexpr double kHandlerDelay = 0.3;

/// One HTTP/1.1 exchange: read the request head, wait, answer, close.
void serve_one(int fd) {
    std::string head;
    char buf[1024];
    while (head.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
    }
    grove::sleep(grove::Duration(kHandlerDelay));  // the slow handler
    const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    (void)::write(fd, reply.data(), reply.size());
    ::close(fd);
}

size_t collect(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

class Libcurl : public Hooked {
protected:
    static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
    static void TearDownTestSuite() { curl_global_cleanup(); }
};

TEST_F(Libcurl, HundredEasyPerformsFinishInAboutOneHandlerDelay) {
    constexpr int kClients = 100;
    int port = 0;
    const int lfd = listen_loopback(&port);
    ASSERT_GE(lfd, 0);
    std::vector<Ref<GreenletBase>> handlers;
    auto server = grove::spawn([&] {
        for (int i = 0; i < kClients; ++i) {
            const int c = ::accept(lfd, nullptr, nullptr);
            if (c < 0) break;
            handlers.push_back(grove::spawn(serve_one, c));
        }
    });
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
    int ok = 0;
    const auto start = std::chrono::steady_clock::now();
    std::vector<Ref<GreenletBase>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(grove::spawn([&] {
            CURL* h = curl_easy_init();
            std::string body;
            curl_easy_setopt(h, CURLOPT_URL, url.c_str());
            curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
            curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
            curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
            const CURLcode rc = curl_easy_perform(h);
            if (rc == CURLE_OK && body == "hello")
                ++ok;
            else
                ADD_FAILURE() << curl_easy_strerror(rc);
            curl_easy_cleanup(h);
        }));
    }
    joinall(clients);
    const double t = since(start);
    print_elapsed("100 x curl_easy_perform, 0.3 s handler", t);
    server->join();
    joinall(handlers);
    ::close(lfd);
    EXPECT_EQ(ok, kClients);
    EXPECT_GE(t, kHandlerDelay * 0.95);
    EXPECT_LT(t, 5.0);  // 30 s one after another
}

}  // namespace
}  // namespace grove::test
