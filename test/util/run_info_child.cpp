// Helper program for the util tests, run as a child process:
//   run_info_child wait   parks greenlets, prints "ready", waits to be signalled
//   run_info_child spin   starts, prints "ready", then spins 300 ms without yielding
// Settings come from GROVE_* variables, so a bad one fails at startup.
#include <chrono>
#include <cstdio>
#include <cstring>

#include <grove/greenlet.hpp>

[[gnu::noinline]] void child_parks_in_timer() {
    grove::sleep(grove::Duration(30));
    asm volatile("" ::: "memory");
}

[[gnu::noinline]] void child_spins_without_yielding() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    while (std::chrono::steady_clock::now() < until) asm volatile("" ::: "memory");
}

int main(int argc, char** argv) {
    const bool spin = argc > 1 && std::strcmp(argv[1], "spin") == 0;
    auto parked = grove::spawn_with({.name = "parked"}, child_parks_in_timer);
    grove::sleep();
    std::puts("ready");
    std::fflush(stdout);
    if (spin) {
        grove::spawn_with({.name = "spinner"}, child_spins_without_yielding)->join();
        parked->kill();
        return 0;
    }
    grove::sleep(grove::Duration(20));  // the test kills us long before
    return 0;
}
