// legacy_jobs — a legacy-style program made concurrent by tools/grove-run.
//
// slow_query() below is the legacy part: plain blocking POSIX code that knows
// nothing of grove (think of a database client library). The program starts
// one greenlet per job but does not patch anything, so on its own each
// usleep() blocks the whole thread and the jobs run one after the other:
//
//   $ legacy_jobs            job 0 done, job 1 done, job 2 done   (~0.6 s)
//   $ grove-run legacy_jobs  job 2 done, job 1 done, job 0 done   (~0.3 s)
//
// Under grove-run the same binary's usleep() is grove's hooked one: it sleeps
// in the hub, the other jobs run meanwhile, and the shortest finishes first.
#include <unistd.h>

#include <cstdio>
#include <vector>

#include <grove/greenlet.hpp>

extern "C" int slow_query(int id, int millis) {
    usleep(static_cast<useconds_t>(millis) * 1000);  // blocking, as legacy code is
    return id;
}

int main() {
    const auto t0 = grove::Clock::now();
    std::vector<grove::Ref<grove::GreenletBase>> jobs;
    for (int id = 0; id < 3; ++id)
        jobs.push_back(grove::spawn([id] {
            slow_query(id, 300 - 100 * id);  // job 0 is the slowest
            std::printf("job %d done\n", id);
        }));
    grove::joinall(jobs);
    std::printf("elapsed %.2f s\n", grove::Duration(grove::Clock::now() - t0).count());
}
