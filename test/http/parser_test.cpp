// grove http — the request-head parser on its own: limits, framing, and the
// shapes that enable request smuggling (each must be a 400, not a guess).
#include <string>

#include <gtest/gtest.h>

#include "parser.hpp"

namespace grove::http::detail {
namespace {

struct Parsed {
    int status;
    Request req;
    Framing framing;
};

Parsed parse(std::string_view head, ServerOptions limits = {}) {
    Parsed p{};
    p.status = parse_request(head, limits, p.req, p.framing);
    return p;
}

TEST(HttpParser, ParsesRequestLineAndHeaders) {
    auto p = parse("GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\nX-Thing:  spaced value \t\r\nx-thing: two\r\n");
    ASSERT_EQ(p.status, 0);
    EXPECT_EQ(p.req.method, "GET");
    EXPECT_EQ(p.req.target, "/a/b?x=1&y");
    EXPECT_EQ(p.req.path, "/a/b");
    EXPECT_EQ(p.req.query, "x=1&y");
    EXPECT_EQ(p.req.version_minor, 1);
    EXPECT_EQ(p.req.header("X-THING"), "spaced value");  // first of two, trimmed
    EXPECT_EQ(p.req.headers.size(), 3u);
    EXPECT_TRUE(p.framing.keep_alive);
    EXPECT_EQ(p.framing.body, Framing::Body::none);
}

TEST(HttpParser, AcceptsBareLineFeeds) { EXPECT_EQ(parse("GET / HTTP/1.1\nHost: h\n").status, 0); }

TEST(HttpParser, KeepAliveRules) {
    EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n").framing.keep_alive);
    EXPECT_FALSE(parse("GET / HTTP/1.0\r\n").framing.keep_alive);
    EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n").framing.keep_alive);
    EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n").framing.keep_alive);
}

TEST(HttpParser, BodyFraming) {
    auto cl = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n");
    EXPECT_EQ(cl.framing.body, Framing::Body::length);
    EXPECT_EQ(cl.framing.length, 12u);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n").framing.body,
              Framing::Body::chunked);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n").status, 0);
    EXPECT_TRUE(
        parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n").framing.expect_continue);
}

TEST(HttpParser, MalformedIs400) {
    for (const char* head : {
             "GET /\r\nHost: h\r\n",                                                               // no version
             "GET  / HTTP/1.1\r\nHost: h\r\n",                                                     // empty target
             "G(T / HTTP/1.1\r\nHost: h\r\n",                                                      // bad method
             "GET / HTTP/x.1\r\nHost: h\r\n",                                                      // bad version
             "GET / HTTP/1.1\r\n",                                                                 // no Host
             "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n",                                           // two Hosts
             "GET / HTTP/1.1\r\nHost: h\r\nNo-Colon\r\n",                                          // no colon
             "GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n",                                       // space in name
             "GET / HTTP/1.1\r\nHost : h\r\n",                                                     // space before colon
             "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n",                                   // obs-fold
             "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n",                                         // control char
             "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n",                               // negative
             "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n",           // conflict
             "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n",  // both
             "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n",                                  // TE on 1.0
             "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n",                 // chunked not last
         })
        EXPECT_EQ(parse(head).status, 400) << head;
}

TEST(HttpParser, ContentLengthGrammar) {
    auto zeros = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::string(30, '0') + "12\r\n");
    EXPECT_EQ(zeros.status, 0);
    EXPECT_EQ(zeros.framing.length, 12u);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0000\r\n").framing.length, 0u);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n").framing.length, 5u);
    for (const char* value : {"", "5,", ",5", "5,,5", "5, 6", "1234567890123456789", "0x5", "5 5"})
        EXPECT_EQ(parse(std::string("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ") + value + "\r\n").status, 400)
            << value;
}

TEST(HttpParser, TransferEncodingLinesAreJudgedTogether) {
    const std::string post = "POST / HTTP/1.1\r\nHost: h\r\n";
    EXPECT_EQ(parse(post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n").status, 400);
    EXPECT_EQ(parse(post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n").status, 400);
    EXPECT_EQ(parse(post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n").status, 400);
    EXPECT_EQ(parse(post + "Transfer-Encoding:\r\n").status, 400);
    EXPECT_EQ(parse(post + "Transfer-Encoding: chunked\r\nContent-Length:\r\n").status, 400);
    EXPECT_EQ(parse(post + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n").status, 501);
}

TEST(HttpParser, LimitsAndUnsupportedFeatures) {
    ServerOptions small;
    small.max_request_line = 20;
    small.max_header_size = 40;
    small.max_headers = 2;
    small.max_body_size = 10;
    EXPECT_EQ(parse("GET /" + std::string(30, 'a') + " HTTP/1.1\r\nHost: h\r\n", small).status, 414);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(50, 'a') + "\r\n", small).status, 431);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n", small).status, 431);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n", small).status, 413);
    EXPECT_EQ(parse("GET / HTTP/2.0\r\nHost: h\r\n").status, 505);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n").status, 501);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n").status, 417);
}

TEST(HttpParser, ChunkSizes) {
    std::size_t n = 0;
    EXPECT_TRUE(parse_chunk_size("1a", n));
    EXPECT_EQ(n, 26u);
    EXPECT_TRUE(parse_chunk_size("FF;name=value", n));
    EXPECT_EQ(n, 255u);
    EXPECT_FALSE(parse_chunk_size("", n));
    EXPECT_FALSE(parse_chunk_size("xyz", n));
    EXPECT_FALSE(parse_chunk_size("fffffffffffffffff", n));  // overflow-sized
    std::size_t ext = 0;
    EXPECT_TRUE(parse_chunk_size("5 ;a=b", n, &ext));  // BWS before ';' is allowed
    EXPECT_EQ(ext, 5u);
    EXPECT_FALSE(parse_chunk_size(" 5", n));                           // leading whitespace
    EXPECT_FALSE(parse_chunk_size("5 ", n));                           // whitespace without an extension
    EXPECT_FALSE(parse_chunk_size("5x", n));                           // junk after the digits
    EXPECT_FALSE(parse_chunk_size("5;a\rb", n));                       // bare CR in an extension
    EXPECT_FALSE(parse_chunk_size(std::string_view("5;a\0b", 5), n));  // NUL
}

}  // namespace
}  // namespace grove::http::detail
