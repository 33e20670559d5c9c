#!/usr/bin/env python3
"""Reads the result files compare.sh wrote into a directory and prints one
table of medians and ratios (Markdown), the issue's rows first. Also writes
<dir>/summary.json, which tools/plot_bench.py turns into a chart.

    bench/compare.py RESULTS_DIR
"""
import json
import os
import re
import sys


def load_gbench(path):
    """Google Benchmark JSON → {run_name: median ns_per_op}."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        text = f.read()
    try:
        data = json.loads(text[text.index("{"):])
    except ValueError:
        return out
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if "ns_per_op" in b:
            v = b["ns_per_op"]
        elif "cpu_time" in b:  # a bench without the counter: one op per iteration
            v = b["cpu_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        else:
            continue
        name = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate" or name not in out:
            out[name] = v
    return out


def load_json(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def load_kv(path):
    """Lines 'RESULT k=v k=v' → dict of floats."""
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            if line.startswith("RESULT"):
                for k, v in re.findall(r"(\w+)=([-\w.]+)", line):
                    try:
                        out[k] = float(v)
                    except ValueError:
                        out[k] = v
    return out


def find(d, *patterns):
    """First value whose key matches all regex patterns."""
    for k, v in d.items():
        if all(re.search(p, k) for p in patterns):
            return v
    return None


def fmt_ns(v):
    if v is None:
        return "—"
    if v >= 1e6:
        return f"{v / 1e6:.2f} ms"
    if v >= 1e3:
        return f"{v / 1e3:.2f} µs"
    return f"{v:.1f} ns"


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    base = load_gbench(os.path.join(d, "baseline.json"))
    core = load_gbench(os.path.join(d, "core.json"))
    io = load_gbench(os.path.join(d, "io.json"))
    sync = load_gbench(os.path.join(d, "sync.json"))
    fiber = load_gbench(os.path.join(d, "fiber.json"))
    gev = {k: v.get("ns_per_op", v.get("value")) for k, v in load_json(os.path.join(d, "gevent.json")).get("results", {}).items()}
    go = {k: v.get("ns_per_op", v.get("value")) for k, v in load_json(os.path.join(d, "go.json")).get("results", {}).items()}
    s100k = load_kv(os.path.join(d, "sleepers_100000.txt"))
    s1m = load_kv(os.path.join(d, "sleepers_1000000.txt"))
    go_s100k = load_kv(os.path.join(d, "go_sleepers_100000.txt"))
    go_s1m = load_kv(os.path.join(d, "go_sleepers_1000000.txt"))
    c100k = load_kv(os.path.join(d, "sleepers_compact_100000.txt"))
    c1m = load_kv(os.path.join(d, "sleepers_compact_1000000.txt"))
    echo = load_json(os.path.join(d, "echo.json"))

    raw_switch = base.get("BM_RawFcontextSwitch")
    raw_create = base.get("BM_RawFiberCreateRunDestroy")
    rows = []

    def row(work, baseline, grove, target_ratio=None, target_abs=None, fiber_v=None, go_v=None, gevent_v=None,
            unit="ns", target_text=""):
        ratio = grove / baseline if (grove is not None and baseline) else None
        met = None
        if grove is not None:
            if target_ratio is not None and ratio is not None:
                met = ratio <= target_ratio
            if target_abs is not None:
                met = grove <= target_abs if met is None else (met and grove <= target_abs)
        rows.append(dict(work=work, baseline=baseline, grove=grove, ratio=ratio, fiber=fiber_v, go=go_v,
                         gevent=gevent_v, target=target_text, met=met, unit=unit))

    row("one-way switch (Waiter wake/wait, direct)", raw_switch, core.get("BM_GroveWaiterSwitch"), 1.2,
        gevent_v=gev.get("switch"), target_text="≤ 1.2× raw")
    row("  · grove context_switch() alone (no scheduler)", raw_switch, core.get("BM_GroveContextSwitch"),
        target_text="(diagnostic)")
    row("sleep(0) ping-pong, 2 greenlets, per sleep(0)", raw_switch, core.get("BM_GroveYieldRing/2"), 4.0,
        fiber_v=fiber.get("BM_FiberYieldRing/2"), go_v=go.get("yield_ring_2"), gevent_v=gev.get("yield_ring_2"),
        target_text="≤ 4× raw jump")
    row("yield ring N=100, per yield", raw_switch, core.get("BM_GroveYieldRing/100"),
        fiber_v=fiber.get("BM_FiberYieldRing/100"), gevent_v=gev.get("yield_ring_100"), target_text="—")
    row("yield ring N=10000, per yield", raw_switch, core.get("BM_GroveYieldRing/10000"),
        fiber_v=fiber.get("BM_FiberYieldRing/10000"), gevent_v=gev.get("yield_ring_10000"), target_text="—")
    row("spawn + run + join, one at a time", raw_create, core.get("BM_GroveSpawnJoin"), target_abs=150,
        fiber_v=fiber.get("BM_FiberSpawnJoin"), go_v=go.get("spawn_join"), gevent_v=gev.get("spawn_join"),
        target_text="≤ 150 ns")
    row("spawn 20k, then joinall, per greenlet", None, core.get("BM_GroveSpawnBatch/20000"), target_abs=250,
        fiber_v=fiber.get("BM_FiberSpawnBatch/20000"), go_v=go.get("spawn_batch_20000"),
        gevent_v=gev.get("spawn_batch_20000"), target_text="≤ 250 ns")
    row("  · same, each sleeps once (20k stacks live)", None, core.get("BM_GroveSpawnBatchLive/20000"),
        target_text="(diagnostic)")
    row("Queue put/get ping-pong round trip", None, find(sync, "Queue", "PingPong") or find(sync, "Queue"),
        target_abs=100, fiber_v=fiber.get("BM_FiberQueuePingPong"), go_v=go.get("queue_pingpong"),
        gevent_v=gev.get("queue_pingpong"), target_text="≤ 100 ns")
    row("Event set/wait ping-pong round trip", None, find(sync, "Event", "PingPong") or find(sync, "Event"),
        target_abs=100, fiber_v=fiber.get("BM_FiberEventPingPong"), gevent_v=gev.get("event_pingpong"),
        target_text="≤ 100 ns")
    row("Timeout arm + cancel", None, core.get("BM_GroveTimeoutArmCancel"), target_text="—")
    row("wait_read socketpair ping-pong round trip", io.get("BM_RawLibevPingPong"), io.get("BM_GroveWaitReadPingPong"),
        target_text="(vs raw libev ev_io)")

    # Issue #18's default-mode targets; Go's sleepers ran in the same compare.sh
    # run (bench/peers/go_sleepers.go), each against its own floor.
    if s100k:
        row("100k sleeping: time to start all", s100k.get("floor_s"), s100k.get("start_s"), 1.2, unit="s",
            go_v=go_s100k.get("start_s"), gevent_v=gev.get("sleepers_100000_start_s"), target_text="≤ 1.2× floor")
        row("100k sleeping: RSS per greenlet", s100k.get("floor_kb"), s100k.get("rss_kb"), target_abs=4.2, unit="KB",
            go_v=go_s100k.get("rss_kb"), gevent_v=gev.get("sleepers_100000_rss_kb"), target_text="≤ 4.2 KB")
    if s1m:
        row("1M sleeping: time to start all", s1m.get("floor_s"), s1m.get("start_s"), 1.2, unit="s",
            go_v=go_s1m.get("start_s"), target_text="works; ≤ 1.2× floor")
        row("1M sleeping: RSS per greenlet", s1m.get("floor_kb"), s1m.get("rss_kb"), target_abs=4.2, unit="KB",
            go_v=go_s1m.get("rss_kb"), target_text="≤ 4.2 KB")
        row("1M sleeping: total RSS", None, s1m.get("rss_total_mb", 0) / 1024, target_abs=4.5, unit="GB",
            target_text="≤ 4.5 GB")
    # Issue #18's compact-mode targets: ≤ 1.5 KB each, started in ≤ Go's time.
    for label, c, go in (("100k", c100k, go_s100k), ("1M", c1m, go_s1m)):
        if c:
            row(f"{label} sleeping, compact: time to start all", go.get("start_s"), c.get("start_s"), 1.0, unit="s",
                go_v=go.get("start_s"), target_text="≤ Go's time")
            row(f"{label} sleeping, compact: RSS per greenlet", c.get("floor_kb"), c.get("rss_kb"), target_abs=1.5,
                unit="KB", go_v=go.get("rss_kb"), target_text="≤ 1.5 KB")
    for r in echo.get("rows", []):
        row(r["work"], r.get("baseline"), r.get("grove"), r.get("target_ratio"), r.get("target_abs"),
            unit=r.get("unit", ""), target_text=r.get("target", ""), go_v=r.get("go"), gevent_v=r.get("gevent"))
        if "met" in r:
            rows[-1]["met"] = r["met"]

    def cell(v, unit):
        if v is None:
            return "—"
        if unit == "ns":
            return fmt_ns(v)
        return f"{v:.3g} {unit}"

    print("| work | baseline | grove | grove / baseline | Boost.Fiber | Go | gevent | target | met? |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—"
        met = {True: "met", False: "**missed**", None: "—"}[r["met"]]
        print(f"| {r['work']} | {cell(r['baseline'], r['unit'])} | {cell(r['grove'], r['unit'])} | {ratio} | "
              f"{cell(r['fiber'], r['unit'])} | {cell(r['go'], r['unit'])} | {cell(r['gevent'], r['unit'])} | "
              f"{r['target']} | {met} |")
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump({"rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
