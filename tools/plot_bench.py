#!/usr/bin/env python3
"""Draws grove against its peers as an SVG bar chart (python3 stdlib only).

    tools/plot_bench.py bench/results/summary.json bench/chart.svg

Input: the summary.json bench/compare.py writes ({"rows": [{work, unit,
baseline, grove, fiber, go, gevent}, ...]}). One group of horizontal bars per
workload measured in ns, on a log scale (the peers span four decades).
"""
import json
import math
import sys
from xml.sax.saxutils import escape

SERIES = [  # key, label, colour
    ("baseline", "baseline (raw fcontext / fiber / libev)", "#9e9e9e"),
    ("grove", "grove", "#2e7d32"),
    ("fiber", "Boost.Fiber", "#1565c0"),
    ("go", "Go", "#00838f"),
    ("gevent", "gevent", "#c62828"),
]


def fmt(v):
    if v >= 1e6:
        return f"{v / 1e6:.2f} ms"
    if v >= 1e3:
        return f"{v / 1e3:.2f} µs"
    return f"{v:.1f} ns"


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src) as f:
        rows = [r for r in json.load(f)["rows"] if r.get("unit") == "ns" and r.get("grove") is not None
                and not r["work"].startswith("  ·")]
    values = [r[k] for r in rows for k, _, _ in SERIES if r.get(k)]
    if not values:
        sys.exit("plot_bench: nothing to plot")
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    label_w, plot_w, bar_h, gap = 330, 560, 11, 14
    present = [s for s in SERIES if any(r.get(s[0]) for r in rows)]
    group_h = bar_h * len(present) + gap
    top = 60
    height = top + group_h * len(rows) + 40
    width = label_w + plot_w + 90

    def x(v):
        return label_w + plot_w * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="20" font-size="14" font-weight="bold">grove vs peers — CPU time per operation '
           f'(median, log scale; shorter is better)</text>']
    lx = 10
    for _, label, colour in present:
        out.append(f'<rect x="{lx}" y="32" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{lx + 14}" y="41">{escape(label)}</text>')
        lx += 24 + 6.5 * len(label)
    decade = lo
    while decade <= hi:
        xd = x(decade)
        out.append(f'<line x1="{xd:.1f}" y1="{top - 6}" x2="{xd:.1f}" y2="{height - 30}" stroke="#ddd"/>'
                   f'<text x="{xd:.1f}" y="{height - 16}" text-anchor="middle" fill="#555">{fmt(decade)}</text>')
        decade *= 10
    for i, r in enumerate(rows):
        y0 = top + i * group_h
        out.append(f'<text x="{label_w - 8}" y="{y0 + group_h / 2}" text-anchor="end">{escape(r["work"])}</text>')
        for j, (key, _, colour) in enumerate(present):
            v = r.get(key)
            if not v:
                continue
            y = y0 + j * bar_h
            out.append(f'<rect x="{label_w}" y="{y}" width="{max(1.0, x(v) - label_w):.1f}" height="{bar_h - 2}" '
                       f'fill="{colour}"/><text x="{x(v) + 4:.1f}" y="{y + bar_h - 3}" font-size="9">{fmt(v)}</text>')
    out.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
