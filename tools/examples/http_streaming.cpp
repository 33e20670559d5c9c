// http_streaming — an HTTP app with a streaming endpoint: /stream?n=5 sends a
// line every 100 ms as one chunked response, while other requests are served
// in between (each connection is a greenlet).
//
//   http_streaming [--port 0]     then: curl -N http://127.0.0.1:PORT/stream
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <grove/http.hpp>

using namespace std::chrono_literals;
namespace http = grove::http;

int main(int argc, char** argv) {
    const int port = argc == 3 && !std::strcmp(argv[1], "--port") ? std::atoi(argv[2]) : 0;
    http::Server server(grove::Address::ip("127.0.0.1", static_cast<std::uint16_t>(port)),
                        [](const http::Request& req) {
                            if (req.path == "/stream")
                                return http::Response::streaming(200, [](http::BodyWriter& out) {
                                    for (int i = 0; i < 5; ++i) {
                                        out.write("tick " + std::to_string(i) + "\n");  // sent now, as a chunk
                                        grove::sleep(100ms);
                                    }
                                });
                            return http::Response::text(200, "hello from " + req.path + "\n");
                        });
    server.start();
    std::printf("listening on %s\n", server.address().str().c_str());
    std::fflush(stdout);
    server.serve_forever();
}
