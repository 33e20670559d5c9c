// grove tests — a greenlet that counts its sleeps until stopped: the proof
// that the hub kept running while another greenlet waited.
#pragma once

#include <atomic>
#include <chrono>

#include <grove/duration.hpp>
#include <grove/greenlet.hpp>

namespace grove::test {

class Ticker {
public:
    explicit Ticker(Duration period = std::chrono::milliseconds(1))
        : g_(grove::spawn([this, period] {
              while (!stop_) {
                  grove::sleep(period);
                  ++ticks;
              }
          })) {}
    ~Ticker() { stop(); }
    Ticker(const Ticker&) = delete;
    Ticker& operator=(const Ticker&) = delete;

    /// Stops the ticker (waits for its greenlet) and returns the count.
    int stop() {
        stop_ = true;
        if (g_) g_->join();
        g_ = nullptr;
        return ticks;
    }

    std::atomic<int> ticks{0};

private:
    bool stop_ = false;
    Ref<GreenletBase> g_;
};

}  // namespace grove::test
