#!/usr/bin/env bash
# Side-by-side benchmark, one run: sequential 1 MiB writes (MB/s) and 4 KiB random writes (IOPS),
# iodepth 16, fio's nbd engine, against
#   - the Tapline wedge with capture on and a live local replayer (every write goes to the primary
#     and into the capture buffer, and is shipped and applied on the replica), and
#   - the wedge with capture on but no remote (capture-only: what the host pays for capture alone,
#     as when the replayer runs on another machine), and
#   - nbdkit's file plugin on the same kind of file in the same folder,
# interleaved for ROUNDS rounds; prints medians and the wedge/nbdkit ratios.
# Usage: bench/wedge_vs_nbdkit.sh [RUNTIME_S=20] [ROUNDS=3] [WORKDIR=/tmp/tapline-bench]
# Also writes every run as CSV (target,workload,round,value,unit) to $CSV (default
# WORKDIR/wedge_vs_nbdkit.csv); bench/plot.py turns it into the SVG chart docs/benchmarks.md shows.
# env WEDGE_EXTRA: more options for both wedges (e.g. "--primary-cache kernel", the policy before 2026-12-02).
# Needs: fio, nbdkit, libnbd-bin, Java 17 + Maven (the CLI builds itself on first use).
set -euo pipefail
RT=${1:-20}; ROUNDS=${2:-3}; W=${3:-/tmp/tapline-bench}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
WEDGE_PORT=${WEDGE_PORT:-11809}; NBDKIT_PORT=${NBDKIT_PORT:-11810}; LINK_PORT=${LINK_PORT:-17070}
CAPONLY_PORT=${CAPONLY_PORT:-11811}
SIZE=2G
rm -rf "$W"; mkdir -p "$W/fio"
cleanup() {
  [ -n "${WEDGE_PID:-}" ] && kill "$WEDGE_PID" 2>/dev/null || true
  [ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null || true
  [ -n "${CAPONLY_PID:-}" ] && kill "$CAPONLY_PID" 2>/dev/null || true
  [ -s "$W/nbdkit.pid" ] && kill "$(cat "$W/nbdkit.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
wait_port() { for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$1/${2:-}" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }

"$TAPLINE" --version >/dev/null   # builds the CLI if needed, outside the measured part
"$TAPLINE" replay --listen 127.0.0.1:$LINK_PORT --data "$W/remote" >"$W/replay.log" 2>&1 & REPLAY_PID=$!
"$TAPLINE" wedge --nbd 127.0.0.1:$WEDGE_PORT --export vol1 --volume "$W/primary.img" --size $SIZE \
  --buffer "$W/buffer" --buffer-max 16G --remote 127.0.0.1:$LINK_PORT ${WEDGE_EXTRA:-} >"$W/wedge.log" 2>&1 & WEDGE_PID=$!
# Capture-only wedge: its buffer may fill; status after each run shows whether it went FULL.
"$TAPLINE" wedge --nbd 127.0.0.1:$CAPONLY_PORT --export vol1 --volume "$W/caponly.img" --size $SIZE \
  --buffer "$W/caponly-buffer" --buffer-max 24G ${WEDGE_EXTRA:-} >"$W/caponly.log" 2>&1 & CAPONLY_PID=$!
truncate -s $SIZE "$W/nbdkit.img"
nbdkit -P "$W/nbdkit.pid" --port $NBDKIT_PORT -i 127.0.0.1 file "$W/nbdkit.img"
wait_port $WEDGE_PORT vol1; wait_port $CAPONLY_PORT vol1; wait_port $NBDKIT_PORT

declare -A URI=([wedge]="nbd://127.0.0.1:$WEDGE_PORT/vol1" [caponly]="nbd://127.0.0.1:$CAPONLY_PORT/vol1"
               [nbdkit]="nbd://127.0.0.1:$NBDKIT_PORT")
for r in $(seq "$ROUNDS"); do for t in wedge caponly nbdkit; do for w in seq1m rand4k; do
  if [ $w = seq1m ]; then WL="--rw=write --bs=1M"; else WL="--rw=randwrite --bs=4k --randrepeat=0"; fi
  # Every run starts with no dirty pages (not measured): else the gigabytes the previous target left
  # dirty throttle the next one's writes (balance_dirty_pages), whichever target that is.
  sync
  fio --name="$t-$w" --ioengine=nbd --uri="${URI[$t]}" $WL --iodepth=16 --size=1G --runtime="$RT" \
      --ramp_time=2 --time_based --output-format=json --output="$W/fio/$t.$w.$r.json" >/dev/null 2>&1 \
      || { echo "fio failed: $t $w round $r" >&2; exit 1; }
  if [ $t = wedge ]; then
    # Drain between runs (not measured) so that every wedge run starts with an empty buffer, and
    # prove that capture stayed complete: a FULL buffer would make the wedge look faster than it is.
    "$TAPLINE" status --buffer "$W/buffer" --wait-synced 900 --json > "$W/status.$w.$r.json" \
      || { echo "replica not synced within 900 s after $w round $r" >&2; exit 1; }
    python3 -c "import json,sys; v=json.load(open(sys.argv[1]))['volumes'][0]; sys.exit('capture incomplete: %s' % v if v['gapRecords'] or v['lostWrites'] else 0)" "$W/status.$w.$r.json"
  fi
  if [ $t = caponly ]; then
    # Nothing drains this buffer: start every run with an empty one (restart, not measured).
    kill "$CAPONLY_PID"; wait "$CAPONLY_PID" 2>/dev/null || true; rm -rf "$W/caponly-buffer"
    "$TAPLINE" wedge --nbd 127.0.0.1:$CAPONLY_PORT --export vol1 --volume "$W/caponly.img" --size $SIZE \
      --buffer "$W/caponly-buffer" --buffer-max 24G ${WEDGE_EXTRA:-} >>"$W/caponly.log" 2>&1 & CAPONLY_PID=$!
    wait_port $CAPONLY_PORT vol1
  fi
done; done; done
cmp "$W/primary.img" "$W/remote/vol1/replica.img" && echo "replica identical to primary after the run"

python3 - "$W/fio" "${CSV:-$W/wedge_vs_nbdkit.csv}" <<'PY'
import csv, json, glob, statistics, sys
d = sys.argv[1]
with open(sys.argv[2], "w", newline="") as out:
    rows = csv.writer(out)
    rows.writerow(["target", "workload", "round", "value", "unit"])
    for f in sorted(glob.glob(f"{d}/*.json")):
        t, w, r = f.rsplit("/", 1)[1].split(".")[:3]
        j = json.load(open(f))["jobs"][0]["write"]
        rows.writerow([t, w, r, round(j["bw_bytes"] / 1e6, 1) if w == "seq1m" else round(j["iops"]),
                       "MB/s" if w == "seq1m" else "IOPS"])
print(f"csv: {sys.argv[2]}")
def med(t, w):
    vals = []
    for f in sorted(glob.glob(f"{d}/{t}.{w}.*.json")):
        j = json.load(open(f))["jobs"][0]["write"]
        vals.append(j["bw_bytes"] / 1e6 if w == "seq1m" else j["iops"])
    return statistics.median(vals), vals
print(f"{'target':8} {'seq 1MiB QD16 MB/s (runs)':36} {'rand 4KiB QD16 IOPS (runs)':36}")
res = {}
for t in ("wedge", "caponly", "nbdkit"):
    cells = []
    for w in ("seq1m", "rand4k"):
        m, v = med(t, w); res[(t, w)] = m
        cells.append(f"{m:9.0f}  ({', '.join(f'{x:.0f}' for x in v)})")
    print(f"{t:8} {cells[0]:36} {cells[1]:36}")
for t, what in (("wedge", "capture + local replayer"), ("caponly", "capture only")):
    print(f"ratio {t}/nbdkit ({what}): seq 1MiB {res[(t,'seq1m')]/res[('nbdkit','seq1m')]:.2f}x (target >= 0.5x), "
          f"rand 4KiB {res[(t,'rand4k')]/res[('nbdkit','rand4k')]:.2f}x (target >= 1.0x)")
PY
