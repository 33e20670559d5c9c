// grove tests — capture what the process writes to stderr (fd 2) while a
// block runs, so tests assert on the exact text of error reports.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace grove::test {

class StderrCapture {
public:
    StderrCapture() { ::testing::internal::CaptureStderr(); }
    ~StderrCapture() {
        if (!taken_) ::testing::internal::GetCapturedStderr();
    }
    std::string take() {
        taken_ = true;
        return ::testing::internal::GetCapturedStderr();
    }

private:
    bool taken_ = false;
};

inline int count_occurrences(const std::string& text, const std::string& needle) {
    int n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
    return n;
}

}  // namespace grove::test
