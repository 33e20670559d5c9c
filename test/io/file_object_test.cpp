// FileObject: regular-file I/O on the ThreadPool; the calling greenlet waits
// cooperatively while the others run.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <system_error>

#include <grove/file_object.hpp>
#include <grove/greenlet.hpp>

#include "leak_check.hpp"

namespace grove::test {
namespace {

using namespace std::chrono_literals;

class FileObjectTest : public LeakChecked {
protected:
    void SetUp() override {
        const int fd = ::mkstemp(path_);
        ASSERT_GE(fd, 0);
        ::close(fd);
    }
    void TearDown() override {
        LeakChecked::TearDown();
        ::unlink(path_);
    }
    char path_[32] = "/tmp/grove_fileobj_XXXXXX";
};

TEST_F(FileObjectTest, WriteFlushReadReadlineClose) {
    grove::spawn([&] {
        FileObject w(path_, "w");
        EXPECT_GE(w.fileno(), 0);
        w.write("first line\nsecond line\nno newline");
        w.flush();
        w.close();
        EXPECT_TRUE(w.closed());
        EXPECT_EQ(w.fileno(), -1);
        w.close();  // idempotent
        EXPECT_THROW(w.write("x"), std::logic_error);
        FileObject r(path_);
        EXPECT_EQ(r.readline(), "first line\n");
        EXPECT_EQ(r.readline(4), "seco");
        EXPECT_EQ(r.read(8), "nd line\n");
        EXPECT_EQ(r.read(), "no newline");
        EXPECT_EQ(r.read(), "");
        EXPECT_EQ(r.readline(), "");
    })->join();
}

TEST_F(FileObjectTest, ALargeReadLetsOtherGreenletsRunMeanwhile) {
    const std::string big(32 << 20, 'z');
    std::FILE* f = std::fopen(path_, "w");
    ASSERT_EQ(std::fwrite(big.data(), 1, big.size(), f), big.size());
    std::fclose(f);
    bool read_done = false, other_ran_before = false;
    std::string got;
    grove::spawn([&] {
        FileObject r(path_);  // opened first: only the read is under test
        auto reader = grove::spawn([&] {
            got = r.read();
            read_done = true;
        });
        auto other = grove::spawn([&] { other_ran_before = !read_done; });
        joinall({reader, other});
    })->join();
    EXPECT_TRUE(other_ran_before);  // a blocking read would have finished first
    EXPECT_TRUE(got == big);
}

TEST_F(FileObjectTest, ErrorsAreSystemErrors) {
    grove::spawn([] {
        try {
            FileObject missing("/nonexistent/dir/file");
            ADD_FAILURE() << "no error";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code().value(), ENOENT);
        }
        FileObject ro("/dev/null", "r");
        EXPECT_THROW(ro.write("x"), std::system_error);  // glibc refuses writes on a read stream
    })->join();
}

TEST_F(FileObjectTest, AKilledReaderLeavesTheFileUsable) {
    {
        std::FILE* f = std::fopen(path_, "w");
        std::fputs("line\n", f);
        std::fclose(f);
    }
    grove::spawn([&] {
        FileObject r(path_);
        auto g = grove::spawn([&] { r.read(); });
        grove::sleep();  // g is now waiting on the pool
        g->kill();
        EXPECT_TRUE(g->dead());
        r.close();  // runs after the abandoned read, on the same file
        EXPECT_TRUE(r.closed());
    })->join();
}

TEST_F(FileObjectTest, AdoptTakesAnFd) {
    grove::spawn([&] {
        const int fd = ::open(path_, O_RDWR);
        FileObject f = FileObject::adopt(fd, "r+");
        EXPECT_EQ(f.fileno(), fd);
        f.write("adopted");
        f.close();
        FileObject r(path_);
        EXPECT_EQ(r.read(), "adopted");
    })->join();
}

}  // namespace
}  // namespace grove::test
