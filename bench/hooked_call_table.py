#!/usr/bin/env python3
"""The price of a hooked call (issue 18): reads hooked_call_bench's Google
Benchmark JSON and prints a Markdown table of median ns per call, hooked and
unpatched against libc's own call, with the ratios (target: hooked <= 1.2x),
and the hook's own cost: hooked minus libc's recv/send with MSG_DONTWAIT, the
syscall the hook makes.

    bench/hooked_call_table.py RESULTS_DIR/hooked_call.json
"""
import json
import sys

SOCKETS = {"0": "AF_UNIX stream", "1": "TCP loopback"}


def medians(path):
    with open(path) as f:
        text = f.read()
    data = json.loads(text[text.index("{"):])
    out = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        if b.get("run_type") == "aggregate" or name not in out:
            out[name] = b["ns_per_op"] if "ns_per_op" in b else b["cpu_time"]
    return out


def main():
    m = medians(sys.argv[1])
    print("| call | socket | libc ns | hooked ns | hooked/libc | libc MSG_DONTWAIT ns | hook's own ns | unpatched ns | unpatched/libc |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for call in ("Read", "Write", "Readv", "Writev"):
        for arg, label in SOCKETS.items():
            libc = m.get("BM_Socket%s_Libc/%s" % (call, arg))
            hooked = m.get("BM_Socket%s_Hooked/%s" % (call, arg))
            unpatched = m.get("BM_Socket%s_Unpatched/%s" % (call, arg))
            dontwait = m.get("BM_Socket%s_LibcDontwait/%s" % (call, arg))
            if not libc:
                continue

            def cell(v):
                return ("%.0f" % v, "%.2f×" % (v / libc)) if v else ("-", "-")

            h, hr = cell(hooked)
            u, ur = cell(unpatched)
            d = "%.0f" % dontwait if dontwait else "-"
            own = "%+.0f" % (hooked - dontwait) if hooked and dontwait else "-"
            size = "2 × 32 B" if call.endswith("v") else "64 B"
            print("| %s() %s | %s | %.0f | %s | %s | %s | %s | %s | %s |" % (call.lower(), size, label, libc, h, hr, d, own, u, ur))


if __name__ == "__main__":
    main()
