// Hooks: popen/pclose and fdopen give FILE* streams whose fgets, fread,
// fprintf and fflush cooperate on pipes and sockets; regular files keep the
// plain FILE*.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <grove/greenlet.hpp>
#include <grove/timeout.hpp>

#include "children.hpp"
#include "hooks_support.hpp"
#include "ticker.hpp"

namespace grove::test {
namespace {

using namespace std::chrono_literals;
using StdioHooks = Hooked;

TEST_F(StdioHooks, PopenTenMegabytesReadWithFgetsWhileATickerTicks) {
    Ticker ticker;
    std::size_t bytes = 0, lines = 0;  // payload bytes, newlines
    int status = -1, ticks_during = 0;
    grove::spawn([&] {
        // 10 MiB in 100-byte lines, written in bursts so the reader has to wait.
        FILE* f = ::popen(
            "for i in 1 2 3 4 5 6 7 8 9 10; do head -c 1048576 /dev/zero | tr '\\0' a | fold -w 99; "
            "sleep 0.02; done",
            "r");
        ASSERT_NE(f, nullptr);
        const int start_ticks = ticker.ticks;
        char line[256];
        while (std::fgets(line, sizeof line, f)) {
            const std::size_t n = std::strlen(line);
            const bool newline = n && line[n - 1] == '\n';
            bytes += n - newline;
            lines += newline;
        }
        ticks_during = ticker.ticks - start_ticks;
        status = ::pclose(f);
    })->join();
    EXPECT_EQ(bytes, 10u * 1048576u);          // every byte arrived (the newlines are fold's)
    EXPECT_EQ(lines, 10u * (1048576u / 99u));  // fold ends no chunk with a newline
    EXPECT_EQ(status, 0);
    EXPECT_GE(ticks_during, 3);  // ~200 ms of sleeps in the child alone (0 if fgets blocked)
}

TEST_F(StdioHooks, PopenWriteModeAndPcloseStatus) {
    char path[] = "/tmp/grove_popen_XXXXXX";
    const int tmp = ::mkstemp(path);
    ASSERT_GE(tmp, 0);
    ::close(tmp);
    grove::spawn([&] {
        FILE* w = ::popen(("cat > " + std::string(path)).c_str(), "w");
        ASSERT_NE(w, nullptr);
        for (int i = 0; i < 100000; ++i) std::fprintf(w, "line %d\n", i);
        EXPECT_EQ(::pclose(w), 0);
        FILE* r = ::popen("exit 7", "r");
        ASSERT_NE(r, nullptr);
        const int s = ::pclose(r);
        EXPECT_TRUE(WIFEXITED(s));
        EXPECT_EQ(WEXITSTATUS(s), 7);
    })->join();
    FILE* check = std::fopen(path, "r");
    ASSERT_NE(check, nullptr);
    char line[64];
    int n = 0;
    bool in_order = true;
    while (std::fgets(line, sizeof line, check)) in_order &= std::string(line) == "line " + std::to_string(n++) + "\n";
    std::fclose(check);
    ::unlink(path);
    EXPECT_EQ(n, 100000);
    EXPECT_TRUE(in_order);
}

TEST_F(StdioHooks, PopenModesAreGlibcs) {
    grove::spawn([] {
        FILE* e = ::popen("true", "re");
        ASSERT_NE(e, nullptr);
        EXPECT_TRUE(::fcntl(::fileno(e), F_GETFD) & FD_CLOEXEC);
        EXPECT_EQ(::pclose(e), 0);
        FILE* plain = ::popen("true", "r");
        ASSERT_NE(plain, nullptr);
        EXPECT_GE(::fileno(plain), 0);
        EXPECT_FALSE(::fcntl(::fileno(plain), F_GETFD) & FD_CLOEXEC);
        EXPECT_EQ(::pclose(plain), 0);
        errno = 0;
        EXPECT_EQ(::popen("true", "rw"), nullptr);
        EXPECT_EQ(errno, EINVAL);
        EXPECT_EQ(::popen("true", "x"), nullptr);
    })->join();
    EXPECT_TRUE(zombie_children().empty());
}

TEST_F(StdioHooks, FdopenOnASocketpairReadsLinesFedSlowlyByAnotherGreenlet) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    Ticker ticker;
    std::vector<std::string> got;
    auto feeder = grove::spawn([&] {
        FILE* out = ::fdopen(sv[1], "w");
        ASSERT_NE(out, nullptr);
        EXPECT_EQ(::fileno(out), sv[1]);
        for (int i = 0; i < 10; ++i) {
            std::fprintf(out, "line %d\n", i);
            std::fflush(out);
            grove::sleep(10ms);
        }
        std::fclose(out);  // closes sv[1]: the reader sees EOF
    });
    auto reader = grove::spawn([&] {
        FILE* in = ::fdopen(sv[0], "r");
        ASSERT_NE(in, nullptr);
        EXPECT_EQ(::fileno(in), sv[0]);
        char line[64];
        while (std::fgets(line, sizeof line, in)) got.emplace_back(line);
        EXPECT_TRUE(std::feof(in));
        std::fclose(in);
    });
    joinall({feeder, reader});
    ASSERT_EQ(got.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], "line " + std::to_string(i) + "\n");
    EXPECT_GE(ticker.ticks, 3);  // the reader waited ~100 ms without blocking the hub
}

TEST_F(StdioHooks, KilledFgetsFailsTheCWayAndTheStreamStaysUsable) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    FILE* in = nullptr;
    char* got = reinterpret_cast<char*>(1);
    bool error_flag = false;
    auto g = grove::spawn([&] {
        in = ::fdopen(sv[0], "r");
        char line[64];
        got = std::fgets(line, sizeof line, in);
        error_flag = std::ferror(in);
        grove::sleep(1s);  // the pending kill lands here
    });
    grove::sleep(20ms);
    g->kill();
    EXPECT_EQ(got, nullptr);
    EXPECT_TRUE(error_flag);
    std::clearerr(in);
    ASSERT_EQ(::write(sv[1], "after\n", 6), 6);
    char line[64];
    EXPECT_STREQ(std::fgets(line, sizeof line, in), "after\n");
    std::fclose(in);
    ::close(sv[1]);
}

TEST_F(StdioHooks, FdopenOnARegularFileKeepsThePlainFile) {
    char path[] = "/tmp/grove_fdopen_XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "hello\n", 6), 6);
    ::lseek(fd, 0, SEEK_SET);
    grove::spawn([&] {
        FILE* f = ::fdopen(fd, "r+");
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(::fileno(f), fd);
        char line[16];
        EXPECT_STREQ(std::fgets(line, sizeof line, f), "hello\n");
        EXPECT_EQ(std::fseek(f, 0, SEEK_SET), 0);  // seekable: the plain FILE*
        std::fclose(f);
        errno = 0;
        int sv[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        ::shutdown(sv[0], SHUT_WR);
        const int ro = ::open("/dev/null", O_RDONLY);
        EXPECT_EQ(::fdopen(ro, "w"), nullptr);  // glibc's access check (a char device: plain fdopen)
        EXPECT_EQ(::fdopen(-1, "r"), nullptr);
        ::close(ro);
        ::close(sv[0]);
        ::close(sv[1]);
    })->join();
    ::unlink(path);
}

TEST_F(StdioHooks, FdopenOnAPipeChecksTheAccessMode) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    grove::spawn([&] {
        errno = 0;
        EXPECT_EQ(::fdopen(p[0], "w"), nullptr);
        EXPECT_EQ(errno, EINVAL);
        FILE* w = ::fdopen(p[1], "w");
        FILE* r = ::fdopen(p[0], "r");
        ASSERT_NE(w, nullptr);
        ASSERT_NE(r, nullptr);
        std::fputs("through the pipe\n", w);
        std::fclose(w);
        char line[64];
        EXPECT_STREQ(std::fgets(line, sizeof line, r), "through the pipe\n");
        EXPECT_EQ(std::fgets(line, sizeof line, r), nullptr);
        std::fclose(r);
    })->join();
}

}  // namespace
}  // namespace grove::test
