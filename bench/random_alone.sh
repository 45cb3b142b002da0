#!/usr/bin/env bash
# 4 KiB random writes, QD16, fio's nbd engine: a capture-only wedge and nbdkit's file plugin, each
# ALONE on the machine (the other stopped, fresh 2 GiB files, `sync` before each run), alternating
# for ROUNDS rounds; prints each run and the median ratio. Unlike bench/wedge_vs_nbdkit.sh, no
# other target's buffers fill the page cache meanwhile (there nbdkit serves 26-31k IOPS instead of
# 150-170k: docs/benchmarks.md#p3-random-peer), so this is the peer at its best.
# Usage: bench/random_alone.sh [RUNTIME_S=10] [ROUNDS=3] [WORKDIR=/tmp/tapline-random-alone]
# TAPLINE_HOME=DIR runs another build's ./tapline (a `git worktree` of the "before");
# TAPLINE_JAVA_OPTS passes JVM options to the wedge (e.g. -Dtapline.wedge.inlineMaxBytes=0).
# Needs: fio, nbdkit, libnbd-bin, Java 17 + Maven.
set -euo pipefail
RT=${1:-10}; ROUNDS=${2:-3}; W=${3:-/tmp/tapline-random-alone}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="${TAPLINE_HOME:-$here}/tapline"
PORT=${PORT:-11911}
rm -rf "$W"; mkdir -p "$W/fio"
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true
  [ -s "$W/nbdkit.pid" ] && kill "$(cat "$W/nbdkit.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
wait_port() { for _ in $(seq 600); do nbdinfo --size "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "never answered: $1" >&2; exit 1; }
run_fio() { # URI OUT
  fio --name=rand4k --ioengine=nbd --uri="$1" --rw=randwrite --bs=4k --randrepeat=0 --iodepth=16 --size=1G \
      --runtime="$RT" --ramp_time=2 --time_based --output-format=json --output="$2" >/dev/null 2>&1 \
      || { echo "fio failed: $1" >&2; exit 1; }
}
"$TAPLINE" --version >/dev/null
for r in $(seq "$ROUNDS"); do
  rm -rf "$W/t"; mkdir -p "$W/t"; sync
  "$TAPLINE" wedge --nbd 127.0.0.1:$PORT --export vol1 --volume "$W/t/primary.img" --size 2G \
    --buffer "$W/t/buffer" --buffer-max 24G >>"$W/wedge.log" 2>&1 & PID=$!
  wait_port "nbd://127.0.0.1:$PORT/vol1"
  run_fio "nbd://127.0.0.1:$PORT/vol1" "$W/fio/caponly.$r.json"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  rm -rf "$W/t"; mkdir -p "$W/t"; sync
  truncate -s 2G "$W/t/nbdkit.img"
  nbdkit -P "$W/nbdkit.pid" --port $PORT -i 127.0.0.1 file "$W/t/nbdkit.img"
  wait_port "nbd://127.0.0.1:$PORT"
  run_fio "nbd://127.0.0.1:$PORT" "$W/fio/nbdkit.$r.json"
  kill "$(cat "$W/nbdkit.pid")"; rm -f "$W/nbdkit.pid"; sleep 0.5
done
rm -rf "$W/t"
python3 - "$W/fio" <<'PY'
import glob, json, statistics, sys
def runs(t):
    return [json.load(open(f))["jobs"][0]["write"] for f in sorted(glob.glob(f"{sys.argv[1]}/{t}.*.json"))]
res = {}
for t in ("caponly", "nbdkit"):
    v = runs(t)
    iops = [w["iops"] for w in v]
    p99 = [w["clat_ns"]["percentile"]["99.000000"] / 1000 for w in v]
    res[t] = statistics.median(iops)
    print(f"{t:8} IOPS median {res[t]:8.0f}  runs {', '.join(f'{x:.0f}' for x in iops)}"
          f"  p99 us {', '.join(f'{x:.0f}' for x in p99)}")
print(f"ratio capture-only wedge / nbdkit alone, 4 KiB random QD16: {res['caponly'] / res['nbdkit']:.2f}x (target >= 1.0x)")
PY
