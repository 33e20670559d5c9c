#!/usr/bin/env python3
"""Issue #18's cost-as-N-grows curves: grove against Boost.Fiber, Go and raw
libev, as a Markdown table (stdout) and a log-log SVG (python3 stdlib only).

    tools/plot_curves.py RESULTS_DIR bench/curves.svg

Reads what bench/compare.sh wrote into RESULTS_DIR: curves.json
(bench/curves_bench), fiber.json (bench/peers/fiber_peer_bench) and go.json
(bench/peers/go_bench.go); any of them may be missing. A timers.json there (a
later curves_bench run of the timer rows alone, grove's and raw libev's in one
binary) replaces curves.json's rows of the same name. One panel per shape,
N on x, CPU ns per operation on y, both logarithmic.
"""
import importlib.util
import json
import math
import os
import re
import sys
from xml.sax.saxutils import escape

NS = [10, 100, 1000, 10000, 100000, 1000000]

# title, unit of one op, grove bench, Boost.Fiber bench, Go name, raw libev bench
SHAPES = [
    ("yield ring", "per yield", "BM_CurveYieldRing", "BM_FiberCurveYieldRing", "yield_ring", None),
    ("Event wake-all", "per waiter", "BM_CurveEventWakeAll", "BM_FiberCurveEventWakeAll", "event_wake_all", None),
    ("Queue fan-in (maxsize 1)", "per item", "BM_CurveQueueFanIn", "BM_FiberCurveQueueFanIn", "queue_fan_in", None),
    ("spawn N + joinall", "per greenlet", "BM_CurveSpawnBatch", "BM_FiberCurveSpawnBatch", "spawn_batch", None),
    ("timers: arm N, cancel N", "per timer", "BM_CurveTimerArmCancel", None, "timer_arm_cancel",
     "BM_CurveLibevTimerArmCancel"),
    ("timer churn, N pending, random due", "per arm+cancel", "BM_CurveTimerChurn", None, "timer_churn",
     "BM_CurveLibevTimerChurn"),
    ("timer churn, N pending, earliest due", "per arm+cancel", "BM_CurveTimerChurnEarly", None,
     "timer_churn_early", "BM_CurveLibevTimerChurnEarly"),
]

SERIES = [  # key, label, colour (plot_bench.py's)
    ("grove", "grove", "#2e7d32"),
    ("fiber", "Boost.Fiber", "#1565c0"),
    ("go", "Go (GOMAXPROCS=1)", "#00838f"),
    ("libev", "raw libev timers", "#9e9e9e"),
]


def load_compare():
    """bench/compare.py's loaders (one Google Benchmark JSON reader, not two)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "compare.py")
    spec = importlib.util.spec_from_file_location("compare", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def by_bench_and_n(gbench):
    """{'BM_X/1000/iterations:5/repeats:3': v} → {('BM_X', 1000): v}."""
    out = {}
    for name, v in gbench.items():
        m = re.match(r"([^/]+)/(\d+)", name)
        if m:
            out[(m.group(1), int(m.group(2)))] = v
    return out


def collect(d):
    cmp = load_compare()
    grove = by_bench_and_n(cmp.load_gbench(os.path.join(d, "curves.json")))
    grove.update(by_bench_and_n(cmp.load_gbench(os.path.join(d, "timers.json"))))
    fiber = by_bench_and_n(cmp.load_gbench(os.path.join(d, "fiber.json")))
    try:
        go_json = cmp.load_json(os.path.join(d, "go.json"))
    except ValueError:  # empty or cut short: the Go run failed
        go_json = {}
    go = {k: v.get("ns_per_op") for k, v in go_json.get("results", {}).items()}
    shapes = []
    for title, unit, g, f, gname, lv in SHAPES:
        pts = {}
        for n in NS:
            pts[n] = {
                "grove": grove.get((g, n)),
                "fiber": fiber.get((f, n)) if f else None,
                "go": go.get(f"{gname}_{n}"),
                "libev": grove.get((lv, n)) if lv else None,
            }
        shapes.append(dict(title=title, unit=unit, has_fiber=f is not None, has_libev=lv is not None, points=pts))
    return shapes


def fmt(v):
    if v is None:
        return "—"
    if v >= 1e3:
        return f"{v / 1e3:.2f} µs"
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def tick(v):
    return f"{v / 1e3:g} µs" if v >= 1e3 else f"{v:g}"


def table(shapes):
    lines = ["| shape | N | grove | Boost.Fiber | Go | raw libev | grove ÷ best other |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in shapes:
        for n in NS:
            p = s["points"][n]
            if all(p[k] is None for k, _, _ in SERIES):
                continue
            others = [p[k] for k in ("fiber", "go", "libev") if p[k]]
            ratio = f"{p['grove'] / min(others):.2f}×" if p["grove"] and others else "—"
            fib = fmt(p["fiber"]) if s["has_fiber"] else "n/a"
            lv = fmt(p["libev"]) if s["has_libev"] else "n/a"
            lines.append(f"| {s['title']} ({s['unit']}) | {n:,} | {fmt(p['grove'])} | {fib} | {fmt(p['go'])} | "
                         f"{lv} | {ratio} |")
    return "\n".join(lines)


def svg(shapes, dst):
    cols, pw, ph = 3, 300, 210  # panel size
    ml, mt, mb = 52, 34, 34     # margins inside a panel
    rows = math.ceil(len(shapes) / cols)
    top = 58
    width, height = cols * (pw + 20) + 20, top + rows * (ph + 20) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="10">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           '<text x="12" y="20" font-size="14" font-weight="bold">Cost as N grows (issue #18): CPU ns per '
           'operation, median; log-log, lower is better</text>']
    lx = 12
    for _, label, colour in SERIES:
        out.append(f'<rect x="{lx}" y="32" width="14" height="3" fill="{colour}" transform="translate(0,4)"/>'
                   f'<text x="{lx + 18}" y="41">{escape(label)}</text>')
        lx += 30 + 6 * len(label)
    lx0, lx1 = math.log10(NS[0]), math.log10(NS[-1])
    for i, s in enumerate(shapes):
        x0 = 20 + (i % cols) * (pw + 20)
        y0 = top + (i // cols) * (ph + 20)
        vals = [v for p in s["points"].values() for v in p.values() if v]
        out.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/>'
                   f'<text x="{x0 + 6}" y="{y0 + 14}" font-weight="bold">{escape(s["title"])}</text>'
                   f'<text x="{x0 + 6}" y="{y0 + 26}" fill="#555">ns {escape(s["unit"])}</text>')
        if not vals:
            continue
        lo = 10 ** math.floor(math.log10(min(vals)))
        hi = 10 ** math.ceil(math.log10(max(vals)))
        if hi / lo < 100:
            hi = lo * 100
        ly0, ly1 = math.log10(lo), math.log10(hi)
        px0, px1, py0, py1 = x0 + ml, x0 + pw - 12, y0 + ph - mb, y0 + mt

        def X(n):
            return px0 + (px1 - px0) * (math.log10(n) - lx0) / (lx1 - lx0)

        def Y(v):
            return py0 - (py0 - py1) * (math.log10(v) - ly0) / (ly1 - ly0)

        for n in NS:
            out.append(f'<line x1="{X(n):.1f}" y1="{py0}" x2="{X(n):.1f}" y2="{py1}" stroke="#eee"/>'
                       f'<text x="{X(n):.1f}" y="{py0 + 12}" text-anchor="middle" fill="#555">'
                       f'{"1M" if n == 1000000 else (str(n // 1000) + "k" if n >= 1000 else n)}</text>')
        e = math.floor(ly0)
        while e <= ly1 + 1e-9:
            for m in (1, 2, 5):
                v = m * 10 ** e
                if lo <= v <= hi:
                    strong = m == 1
                    out.append(f'<line x1="{px0}" y1="{Y(v):.1f}" x2="{px1}" y2="{Y(v):.1f}" '
                               f'stroke="{"#ddd" if strong else "#f3f3f3"}"/>'
                               f'<text x="{px0 - 4}" y="{Y(v) + 3:.1f}" text-anchor="end" fill="#555">'
                               f'{tick(v) if strong or hi / lo <= 1000 else ""}</text>')
            e += 1
        out.append(f'<text x="{px1}" y="{py0 + 24}" text-anchor="end" fill="#555">N</text>')
        for key, _, colour in SERIES:
            pts = [(n, s["points"][n][key]) for n in NS if s["points"][n][key]]
            if not pts:
                continue
            d = " ".join(f'{X(n):.1f},{Y(v):.1f}' for n, v in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for n, v in pts:
                out.append(f'<circle cx="{X(n):.1f}" cy="{Y(v):.1f}" r="2.5" fill="{colour}"/>')
    out.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    dst = sys.argv[2] if len(sys.argv) > 2 else "bench/curves.svg"
    shapes = collect(d)
    print(table(shapes))
    with open(os.path.join(d, "curves_summary.json"), "w") as f:
        json.dump({"shapes": [{**s, "points": {str(n): p for n, p in s["points"].items()}} for s in shapes]}, f,
                  indent=1)
    svg(shapes, dst)


if __name__ == "__main__":
    main()
