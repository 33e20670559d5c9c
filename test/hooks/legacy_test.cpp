// Hooks: an unmodified legacy C program (legacy/legacy_stdio.c: system,
// popen + fgets, fdopen on a socket + fgets) gives exactly its plain output
// when run under grove-run, several copies at once driven from greenlets;
// and its code, run inside a greenlet with the hooks on, cooperates.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <grove/greenlet.hpp>
#include <grove/subprocess.hpp>

#include "children.hpp"
#include "hooks_support.hpp"
#include "ticker.hpp"

extern "C" int legacy_stdio_main(void);

namespace grove::test {
namespace {

using namespace std::chrono_literals;
using LegacyProgram = Hooked;
namespace sp = grove::subprocess;

const char* const kExpected =
    "system says hi\n"
    "system: exit 3\n"
    "popen: 1\npopen: 2\npopen: 3\npopen: 4\npopen: 5\n"
    "popen: sum 15, pclose exit 0\n"
    "socket: alpha\nsocket: beta\nsocket: gamma\n"
    "done\n";

#if defined(__SANITIZE_ADDRESS__)
#define GROVE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GROVE_TEST_ASAN 1
#endif
#endif

/// The launcher's options: under ASan, the preloaded (instrumented) hooks
/// come before the sanitizer runtime, which ASan refuses unless told that
/// this is fine (its runtime is still loaded, as their dependency).
sp::RunOptions launcher_options() {
    sp::RunOptions o;
#ifdef GROVE_TEST_ASAN
    std::vector<std::string> env;
    bool found = false;
    for (char** e = environ; *e; ++e) {
        std::string v = *e;
        if (v.rfind("ASAN_OPTIONS=", 0) == 0) {
            v += ":verify_asan_link_order=0";
            found = true;
        }
        env.push_back(std::move(v));
    }
    if (!found) env.emplace_back("ASAN_OPTIONS=verify_asan_link_order=0");
    o.env = std::move(env);
#endif
    return o;
}

std::string env_path(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

TEST_F(LegacyProgram, GivesItsPlainOutputUnderGroveRun) {
    const std::string program = env_path("GROVE_TEST_LEGACY_STDIO");
    const std::string launcher = env_path("GROVE_TEST_GROVE_RUN");
    ASSERT_FALSE(program.empty());
    ASSERT_EQ(::access(launcher.c_str(), X_OK), 0) << "no grove-run launcher at " << launcher;
    Ticker ticker;
    std::string plain;
    std::vector<std::string> hooked(4);
    std::vector<Ref<GreenletBase>> gs;
    gs.push_back(grove::spawn([&] { plain = sp::check_output({program}); }));
    for (auto& out : hooked)
        gs.push_back(grove::spawn([&] { out = sp::check_output({launcher, program}, launcher_options()); }));
    joinall(gs, {}, true);
    EXPECT_EQ(plain, kExpected);
    for (const auto& out : hooked) EXPECT_EQ(out, plain);
    EXPECT_GE(ticker.ticks, 3);  // five programs ran at once; the hub kept running
    EXPECT_TRUE(zombie_children().empty());
}

TEST_F(LegacyProgram, ItsCodeCooperatesInsideAGreenlet) {
    // Its stdout goes to a file for the run (the plain FILE* of stdout).
    char path[] = "/tmp/grove_legacy_XXXXXX";
    const int out = ::mkstemp(path);
    ASSERT_GE(out, 0);
    std::fflush(stdout);
    const int saved = ::dup(STDOUT_FILENO);
    ::dup2(out, STDOUT_FILENO);
    int rc = -1, ticks = 0;
    {
        Ticker ticker;
        grove::spawn([&] { rc = legacy_stdio_main(); })->join();
        ticks = ticker.ticks;
    }
    std::fflush(stdout);
    ::dup2(saved, STDOUT_FILENO);
    ::close(saved);
    std::string got(4096, '\0');
    got.resize(static_cast<std::size_t>(::pread(out, got.data(), got.size(), 0)));
    ::close(out);
    ::unlink(path);
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(got, kExpected);
    // The shell, popen's 50 ms sleep and the socket's 3 x 20 ms feed: the
    // ticker ran meanwhile (it could not if any of them blocked the thread).
    EXPECT_GE(ticks, 3);
    EXPECT_TRUE(zombie_children().empty());
}

}  // namespace
}  // namespace grove::test
