// The program the gdb extension's test debugs (test/gdb/gdb_test.py).
//
// Two hubs: the main thread's and a second thread's. Greenlets park in
// distinctly named functions, each on a different kind of wait, and one is
// spawned but never begins. Then the main greenlet aborts, so gdb stops the
// process with every greenlet suspended where the test expects it:
//   gdb_target_sleeper         grove::sleep
//   gdb_target_event_waiter    Event::wait
//   gdb_target_queue_getter    Queue::get
//   gdb_target_joiner          join (of the event waiter)
//   gdb_target_second_thread   Event::wait with a timeout, on the second thread's hub
//   gdb_target_woken           Event::wait, woken (set) but not yet resumed: ready
//   gdb_target_never_begins    spawned, not begun
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>

#include <grove/greenlet.hpp>
#include <grove/sync/event.hpp>
#include <grove/sync/queue.hpp>

namespace {

// Keeps a frame from being folded into its caller or turned into a tail call,
// so the function's name is on the greenlet's stack where the test looks.
#define GDB_TARGET_KEEP_FRAME() asm volatile("" ::: "memory")

[[gnu::noinline]] void gdb_target_sleeper() {
    grove::sleep(grove::Duration(3600));
    GDB_TARGET_KEEP_FRAME();
}

[[gnu::noinline]] void gdb_target_event_waiter(grove::Event* event) {
    event->wait();
    GDB_TARGET_KEEP_FRAME();
}

[[gnu::noinline]] void gdb_target_queue_getter(grove::Queue<int>* queue) {
    (void)queue->get();
    GDB_TARGET_KEEP_FRAME();
}

[[gnu::noinline]] void gdb_target_joiner(grove::GreenletBase* other) {
    other->join();
    GDB_TARGET_KEEP_FRAME();
}

[[gnu::noinline]] void gdb_target_second_thread(grove::Event* event) {
    event->wait(grove::Duration(3600));  // its timer keeps that hub's loop alive
    GDB_TARGET_KEEP_FRAME();
}

[[gnu::noinline]] void gdb_target_woken(grove::Event* event) {
    event->wait();
    GDB_TARGET_KEEP_FRAME();
}

[[gnu::noinline]] void gdb_target_never_begins() { GDB_TARGET_KEEP_FRAME(); }

// The second thread: one parked greenlet, then its main greenlet parks in
// join, so its hub sleeps in the loop with both suspended.
void second_thread_main(std::promise<void>* parked) {
    grove::Event event;
    auto g = grove::spawn_with({.name = "second-thread-waiter"}, gdb_target_second_thread, &event);
    grove::sleep();  // let it run up to its wait
    parked->set_value();
    g->join();
}

}  // namespace

int main() {
    grove::Event event;
    grove::Queue<int> queue;
    grove::Event wake_up;
    auto sleeper = grove::spawn_with({.name = "sleeper"}, gdb_target_sleeper);
    auto waiter = grove::spawn_with({.name = "event-waiter"}, gdb_target_event_waiter, &event);
    auto getter = grove::spawn_with({.name = "queue-getter"}, gdb_target_queue_getter, &queue);
    auto joiner = grove::spawn_with({.name = "joiner"}, gdb_target_joiner, waiter.get());
    auto woken = grove::spawn_with({.name = "woken"}, gdb_target_woken, &wake_up);
    grove::sleep();  // every one of them runs up to its wait

    std::promise<void> parked;
    std::thread second(second_thread_main, &parked);
    parked.get_future().wait();

    wake_up.set();  // runnable now; the hub never gets to run it
    auto never = grove::spawn_with({.name = "never-begins"}, gdb_target_never_begins);
    std::puts("gdb_target: every greenlet is parked; aborting");
    std::fflush(stdout);
    std::abort();
}
