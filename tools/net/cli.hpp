// tools/net — what the server programs and the load generator share: option
// parsing, the "listening on" line, and waiting for SIGTERM/SIGINT.
#pragma once

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>

#include <grove/greenlet.hpp>
#include <grove/hub.hpp>
#include <grove/io.hpp>
#include <grove/waiter.hpp>

namespace net {

/// `--name value` pairs; unknown names and missing values are usage errors.
class Options {
public:
    Options(int argc, char** argv, std::map<std::string, std::string> defaults, const char* usage)
        : values_(std::move(defaults)) {
        for (int i = 1; i < argc; ++i) {
            const std::string arg = argv[i];
            if (arg == "-h" || arg == "--help") die(usage, 0);
            if (arg.rfind("--", 0) != 0 || i + 1 >= argc || !values_.count(arg.substr(2))) die(usage, 2);
            values_[arg.substr(2)] = argv[++i];
        }
    }
    const std::string& str(const std::string& name) const { return values_.at(name); }
    long num(const std::string& name) const { return std::strtol(str(name).c_str(), nullptr, 10); }
    double real(const std::string& name) const { return std::strtod(str(name).c_str(), nullptr); }

    /// --host (numeric, or a name resolved cooperatively) and --port.
    grove::Address address() const {
        return grove::resolve(str("host"), static_cast<std::uint16_t>(num("port"))).front();
    }

private:
    [[noreturn]] static void die(const char* usage, int code) {
        std::fputs(usage, code ? stderr : stdout);
        std::exit(code);
    }
    std::map<std::string, std::string> values_;
};

/// The first line of every server's stdout (tests and bench scripts wait for it).
inline void announce(const grove::Address& where) {
    std::printf("listening on %s\n", where.str().c_str());
    std::fflush(stdout);
}

/// Install before announcing (so an early SIGTERM is not fatal); wait() then
/// blocks the main greenlet until SIGTERM or SIGINT arrives.
class Termination {
public:
    Termination()
        : term_(grove::signal_handler(SIGTERM, [this] { waiter_.wake(); })),
          intr_(grove::signal_handler(SIGINT, [this] { waiter_.wake(); })) {}

    void wait() {
        grove::Hub::KeepAlive busy;  // signal watchers alone do not keep the hub alive
        waiter_.wait();
    }

private:
    grove::Waiter waiter_{"termination signal"};
    std::unique_ptr<grove::SignalHandler> term_;
    std::unique_ptr<grove::SignalHandler> intr_;
};

}  // namespace net
