// dns_mass_resolve — gevent's dns_mass_resolve.py: resolve many names at once,
// with a Pool limiting how many lookups run concurrently.
//
//   dns_mass_resolve [--count 1000] [--pool 50] [--server 127.0.0.1:5353] [--timeout 2]
//
// Names are host0.grove.test ... host<count-1>.grove.test. --server sends the
// c-ares resolver to that DNS server (GROVE_RESOLVER=ares picks c-ares for
// grove::resolve; the default resolver runs getaddrinfo on a thread pool).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <grove/grove.hpp>

int main(int argc, char** argv) {
    int count = 1000, pool_size = 50;
    double timeout = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--count")) count = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--pool")) pool_size = std::atoi(argv[i + 1]);
        if (!std::strcmp(argv[i], "--timeout")) timeout = std::atof(argv[i + 1]);
        if (!std::strcmp(argv[i], "--server")) grove::ares::set_servers(argv[i + 1]);
    }

    grove::Pool pool(pool_size);  // at most pool_size lookups at a time
    int resolved = 0, failed = 0;
    const auto t0 = grove::Clock::now();
    for (int i = 0; i < count; ++i) {
        pool.spawn([&, i] {  // waits here while the pool is full
            const std::string name = "host" + std::to_string(i) + ".grove.test";
            try {
                grove::Timeout limit{grove::Duration(timeout)};
                auto addresses = grove::resolve(name, 80, AF_INET);
                ++resolved;
                if (i < 3) std::printf("%s = %s\n", name.c_str(), addresses.front().str().c_str());
            } catch (const grove::TimeoutError&) {
                ++failed;
            } catch (const grove::ResolveError& e) {
                ++failed;
                if (failed <= 3) std::printf("%s failed: %s\n", name.c_str(), e.what());
            }
        });
    }
    pool.join();
    std::printf("finished within %.3f seconds: %d resolved, %d failed\n",
                grove::Duration(grove::Clock::now() - t0).count(), resolved, failed);
    return failed == 0 ? 0 : 1;
}
