#!/usr/bin/python3
"""The echo benchmark: grove's echo_server vs raw_libev_echo (the baseline),
driven by the same loadgen, one after the other in the same run.

Per server: server CPU time per request (utime+stime from /proc/<pid>/stat),
system calls per request (`perf stat -e raw_syscalls:sys_enter -p <pid>`,
skipped with a note if perf cannot count it), req/s and p99 from loadgen.
Writes rows for bench/compare.py to --out.

    bench/echo_compare.py --build build-rel [--seconds 5] [--conns 50] [--size 64] [--out echo.json]
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def run_one(build, server, args):
    proc = subprocess.Popen([os.path.join(build, "tools/net", server), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    m = re.search(r":(\d+)\s*$", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"{server}: no 'listening on' line: {line!r}")
    port = m.group(1)
    perf = None
    if args.perf:
        perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-p", str(proc.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.2)
    cpu0 = cpu_seconds(proc.pid)
    lg = subprocess.run([os.path.join(build, "tools/net/grove-loadgen"), "--port", port, "--connections", str(args.conns),
                         "--duration", str(args.seconds), "--size", str(args.size)],
                        capture_output=True, text=True, check=False)
    cpu1 = cpu_seconds(proc.pid)
    syscalls = None
    if perf:
        perf.send_signal(signal.SIGINT)
        err = perf.communicate()[1]
        m2 = re.search(r"^(\d+),,raw_syscalls:sys_enter", err, re.M)
        syscalls = int(m2.group(1)) if m2 else None
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
    out = dict(re.findall(r"([\w/]+)=([\d.]+)", lg.stdout))
    reqs = float(out.get("requests", 0))
    if not reqs:
        raise RuntimeError(f"{server}: loadgen failed: {lg.stdout} {lg.stderr}")
    return {
        "requests": reqs,
        "req_s": float(out["req/s"]),
        "p99_us": float(out["p99_us"]),
        "p50_us": float(out["p50_us"]),
        "cpu_us_per_req": (cpu1 - cpu0) / reqs * 1e6,
        "syscalls_per_req": syscalls / reqs if syscalls is not None else None,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-rel")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--out", default="echo.json")
    args = ap.parse_args()
    args.perf = False
    if shutil.which("perf"):
        probe = subprocess.run(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "true"],
                               capture_output=True, text=True)
        args.perf = "raw_syscalls:sys_enter" in probe.stderr and "not supported" not in probe.stderr
    if not args.perf:
        print("echo: perf cannot count raw_syscalls:sys_enter here: syscalls/request skipped", file=sys.stderr)
    raw = run_one(args.build, "raw_libev_echo", args)
    grove = run_one(args.build, "grove-echo-server", args)
    for name, r in (("raw libev", raw), ("grove", grove)):
        print(f"echo {name}: {r}", file=sys.stderr)
    rows = [
        {"work": "TCP echo 50×64 B: server CPU µs per request", "baseline": raw["cpu_us_per_req"],
         "grove": grove["cpu_us_per_req"], "target_ratio": 1.2, "unit": "µs", "target": "≤ 1.2× raw libev"},
        {"work": "TCP echo: syscalls per request", "baseline": raw["syscalls_per_req"],
         "grove": grove["syscalls_per_req"], "target_abs": 2.5, "unit": "", "target": "≤ 2.5"},
        {"work": "TCP echo: req/s", "baseline": raw["req_s"], "grove": grove["req_s"], "unit": "req/s",
         "target": "≥ 0.9× raw libev"},
        {"work": "TCP echo: p99 latency", "baseline": raw["p99_us"], "grove": grove["p99_us"], "target_ratio": 1.3,
         "unit": "µs", "target": "≤ 1.3× raw libev"},
    ]
    if grove["req_s"] and raw["req_s"]:
        rows[2]["met"] = grove["req_s"] / raw["req_s"] >= 0.9
    with open(args.out, "w") as f:
        json.dump({"raw": raw, "grove": grove, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
