#!/usr/bin/env python3
"""Replication lag from a replica's audit log: for every applied WRITE, the time from the host's
write (its capture time) to the replica's audit entry (logged once the record is applied and
durable), as percentiles per workload (1 MiB writes, 4 KiB writes, other sizes). Reads the CSV of
`tapline audit export --format csv` on stdin; writes bench/plot.py's CSV (target,workload,round,
value,unit) with targets p50, p90, p99, max in milliseconds.

Usage: tapline audit export --data DIR --volume V --format csv | bench/lag_from_audit.py OUT.csv
"""
import csv
import sys
from datetime import datetime


def when(iso):
    # 2026-11-30T17:39:30.511156048Z: Python parses microseconds at most.
    head, _, frac = iso.rstrip("Z").partition(".")
    return datetime.fromisoformat(head).timestamp() + (float("0." + frac) if frac else 0.0)


def percentile(sorted_values, p):
    i = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[i]


def main():
    lags = {}
    for row in csv.DictReader(sys.stdin):
        if row["type"] != "RECORD" or row["kind"] != "WRITE" or not row["captured_or_to"]:
            continue
        length = int(row["length"])
        workload = "1 MiB writes" if length == 1 << 20 else "4 KiB writes" if length == 4096 else "other writes"
        lags.setdefault(workload, []).append((when(row["logged"]) - when(row["captured_or_to"])) * 1000.0)
    with open(sys.argv[1], "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["target", "workload", "round", "value", "unit"])
        for workload, values in sorted(lags.items()):
            values.sort()
            for name, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)):
                w.writerow([name, workload, 1, round(percentile(values, p), 1), "ms"])
            print(f"{workload}: {len(values)} writes, lag p50 {percentile(values, 50):.0f} ms, "
                  f"p99 {percentile(values, 99):.0f} ms, max {values[-1]:.0f} ms")


if __name__ == "__main__":
    main()
