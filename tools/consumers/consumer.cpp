// An out-of-tree program built against an installed grove: greenlets, a
// Queue and one hooked libc call. Prints "consumer ok" when every check holds.
#include <grove/grove.hpp>
#include <grove/monkey.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

int main() {
    grove::monkey::patch_all();
    grove::Queue<std::string> events;

    // usleep is interposed by grove-hooks: the sleeper parks cooperatively,
    // so the producer's items reach the queue before the sleeper wakes.
    auto sleeper = grove::spawn([&] {
        ::usleep(50'000);
        events.put("slept");
    });
    auto producer = grove::spawn([&] {
        for (int i = 0; i < 3; ++i) events.put("item " + std::to_string(i));
    });
    grove::joinall({sleeper, producer});

    std::vector<std::string> seen;
    while (!events.empty()) seen.push_back(events.get());
    const std::vector<std::string> want{"item 0", "item 1", "item 2", "slept"};
    if (seen != want) {
        std::fprintf(stderr, "consumer: unexpected order:");
        for (auto& s : seen) std::fprintf(stderr, " [%s]", s.c_str());
        std::fprintf(stderr, "\n");
        return 1;
    }
    std::puts("consumer ok");
}
