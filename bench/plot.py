#!/usr/bin/env python3
"""Turns a bench script's CSV (target,workload,round,value,unit) into an SVG bar chart: one panel
per workload, one bar per target at the median of its rounds, each round as a dot, and the ratio
to the reference target written on each bar. No plotting library needed (plain SVG).

Usage: bench/plot.py CSV OUT.svg [--title T] [--reference nbdkit]
"""
import argparse
import csv
import statistics
from collections import OrderedDict


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("csv")
    ap.add_argument("svg")
    ap.add_argument("--title", default="")
    ap.add_argument("--reference", default="nbdkit")
    a = ap.parse_args()
    data = OrderedDict()  # workload -> target -> [values]
    units = {}
    with open(a.csv, newline="") as f:
        for row in csv.DictReader(f):
            data.setdefault(row["workload"], OrderedDict()).setdefault(row["target"], []).append(float(row["value"]))
            units[row["workload"]] = row["unit"]
    panel_w, panel_h, top, left, bottom = 360, 260, 50, 60, 50
    width = left + len(data) * (panel_w + 40)
    height = top + panel_h + bottom
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15">{a.title}</text>']
    colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2"]
    for p, (workload, targets) in enumerate(data.items()):
        x0 = left + p * (panel_w + 40)
        vmax = max(max(v) for v in targets.values()) * 1.15 or 1
        ref = statistics.median(targets[a.reference]) if a.reference in targets else None
        out.append(f'<text x="{x0 + panel_w / 2}" y="{top - 12}" text-anchor="middle">{workload} '
                   f'({units[workload]})</text>')
        out.append(f'<line x1="{x0}" y1="{top + panel_h}" x2="{x0 + panel_w}" y2="{top + panel_h}" stroke="#333"/>')
        for g in range(5):
            v = vmax * g / 4
            y = top + panel_h - panel_h * g / 4
            out.append(f'<line x1="{x0}" y1="{y}" x2="{x0 + panel_w}" y2="{y}" stroke="#ddd"/>')
            out.append(f'<text x="{x0 - 4}" y="{y + 4}" text-anchor="end">{v:.0f}</text>')
        bw = panel_w / (len(targets) * 1.5 + 0.5)
        for i, (target, values) in enumerate(targets.items()):
            m = statistics.median(values)
            bx = x0 + bw * 0.5 + i * bw * 1.5
            bh = panel_h * m / vmax
            out.append(f'<rect x="{bx:.1f}" y="{top + panel_h - bh:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
                       f'fill="{colors[i % len(colors)]}"/>')
            for v in values:
                out.append(f'<circle cx="{bx + bw / 2:.1f}" cy="{top + panel_h - panel_h * v / vmax:.1f}" r="2.5" '
                           f'fill="#222"/>')
            label = f"{m:.0f}" + (f" ({m / ref:.2f}x)" if ref and target != a.reference else "")
            out.append(f'<text x="{bx + bw / 2:.1f}" y="{top + panel_h - bh - 6:.1f}" text-anchor="middle">'
                       f'{label}</text>')
            out.append(f'<text x="{bx + bw / 2:.1f}" y="{top + panel_h + 16}" text-anchor="middle">{target}</text>')
    out.append("</svg>")
    with open(a.svg, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
