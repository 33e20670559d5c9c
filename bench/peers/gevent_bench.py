#!/usr/bin/python3
"""Peer: the grove workloads on gevent (Debian's python3-gevent).

Prints JSON: {"name": {"ns_per_op": median, "reps": [...]}, ...} with the same
workload names compare.sh uses for grove and Boost.Fiber. CPU time
(time.process_time_ns), median of --reps repetitions.

    /usr/bin/python3 bench/peers/gevent_bench.py [--reps 5] [--quick]
"""
import argparse
import json
import statistics
import sys
import time

import gevent
import gevent.event
import gevent.queue
import greenlet


def timed(fn, ops):
    """CPU ns per op of fn(), which performs `ops` operations."""
    t0 = time.process_time_ns()
    fn()
    return (time.process_time_ns() - t0) / ops


def switch(n):
    """One-way greenlet.switch between two greenlets: 2 switches per round."""
    def partner():
        while True:
            main.switch()
    main = greenlet.getcurrent()
    other = greenlet.greenlet(partner)
    other.switch()

    def run():
        sw = other.switch
        for _ in range(n):
            sw()
    ns = timed(run, 2 * n)
    other.throw(greenlet.GreenletExit)
    return ns


def yield_ring(size, rounds):
    """`size` greenlets in all (main + size-1) each sleep(0) once per round."""
    stop = [False]

    def member():
        while not stop[0]:
            gevent.sleep(0)
    ring = [gevent.spawn(member) for _ in range(size - 1)]
    gevent.sleep(0)

    def run():
        for _ in range(rounds):
            gevent.sleep(0)
    ns = timed(run, rounds * size)
    stop[0] = True
    gevent.joinall(ring)
    return ns


def spawn_join(n):
    def body():
        pass

    def run():
        for _ in range(n):
            gevent.spawn(body).join()
    return timed(run, n)


def spawn_batch(n):
    def body():
        pass

    def run():
        gevent.joinall([gevent.spawn(body) for _ in range(n)])
    return timed(run, n)


def queue_pingpong(n):
    there, back = gevent.queue.Queue(), gevent.queue.Queue()

    def partner():
        while True:
            v = there.get()
            if v is None:
                return
            back.put(v)
    p = gevent.spawn(partner)

    def run():
        for i in range(n):
            there.put(1)
            back.get()
    ns = timed(run, n)
    there.put(None)
    p.join()
    return ns


def event_pingpong(n):
    ping, pong = gevent.event.Event(), gevent.event.Event()
    stop = [False]

    def partner():
        while True:
            ping.wait()
            ping.clear()
            if stop[0]:
                return
            pong.set()
    p = gevent.spawn(partner)
    gevent.sleep(0)

    def run():
        for _ in range(n):
            ping.set()
            pong.wait()
            pong.clear()
    ns = timed(run, n)
    stop[0] = True
    ping.set()
    p.join()
    return ns


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sleepers(n):
    """N sleeping greenlets: wall time to start all, and RSS KB per greenlet."""
    rss0 = rss_kb()
    t0 = time.monotonic()
    gs = [gevent.spawn(gevent.sleep, 3600) for _ in range(n)]
    gevent.sleep(0)
    start_s = time.monotonic() - t0
    per_kb = (rss_kb() - rss0) / n
    gevent.killall(gs)
    return start_s, per_kb


WORKLOADS = {
    # name: (function, args, reps scale)
    "switch": (switch, (200000,)),
    "yield_ring_2": (yield_ring, (2, 100000)),
    "yield_ring_100": (yield_ring, (100, 2000)),
    "yield_ring_10000": (yield_ring, (10000, 20)),
    "spawn_join": (spawn_join, (20000,)),
    "spawn_batch_20000": (spawn_batch, (20000,)),
    "queue_pingpong": (queue_pingpong, (50000,)),
    "event_pingpong": (event_pingpong, (50000,)),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="one rep, 1/10 of the work")
    ap.add_argument("--sleepers", type=int, default=100000, help="0 to skip")
    args = ap.parse_args()
    reps = 1 if args.quick else args.reps
    out = {}
    for name, (fn, fargs) in WORKLOADS.items():
        if args.quick:
            fargs = tuple(max(2, a // 10) if i == len(fargs) - 1 else a for i, a in enumerate(fargs))
        vals = [fn(*fargs) for _ in range(reps)]
        out[name] = {"ns_per_op": statistics.median(vals), "reps": vals}
        print(f"{name}: {out[name]['ns_per_op']:.1f} ns", file=sys.stderr)
    if args.sleepers:
        start_s, per_kb = sleepers(args.sleepers)
        out[f"sleepers_{args.sleepers}_start_s"] = {"value": start_s}
        out[f"sleepers_{args.sleepers}_rss_kb"] = {"value": per_kb}
        print(f"sleepers {args.sleepers}: {start_s:.3f} s, {per_kb:.2f} KB/greenlet", file=sys.stderr)
    json.dump({"peer": "gevent", "version": gevent.__version__, "results": out}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
