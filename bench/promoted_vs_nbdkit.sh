#!/usr/bin/env bash
# Acceptance question 10, measured: a promoted replica serving its standby host, against nbdkit's
# file plugin on the same replica file (run after it, the replayer stopped), one run each:
# sequential 1 MiB writes, 4 KiB random writes and 4 KiB random reads, iodepth 16, fio's nbd engine.
# The promoted volume captures every write into its own buffer (no peer: capture-only).
# Usage: bench/promoted_vs_nbdkit.sh [RUNTIME_S=10] [WORKDIR=/tmp/tapline-promoted-bench]
#   SUSTAINED=1: the regime a standby host lives in after a takeover: a 16 GiB volume, fio over
#   14 GiB (RUNTIME_S default 40), the page cache dropped before each run, so both targets write
#   past the page cache instead of overwriting cached pages of a 2 GiB file.
# Needs: fio, nbdkit, qemu-utils, libnbd-bin, Java 17 + Maven.
set -euo pipefail
SUSTAINED=${SUSTAINED:-0}
if [ "$SUSTAINED" = 1 ]; then RT=${1:-40}; SIZE=16G; FIO_SIZE=14G; else RT=${1:-10}; SIZE=2G; FIO_SIZE=1G; fi
W=${2:-/tmp/tapline-promoted-bench}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
A_NBD=${A_NBD:-11921}; B_NBD=${B_NBD:-11922}; B_LINK=${B_LINK:-17922}; NBDKIT_PORT=${NBDKIT_PORT:-11923}
rm -rf "$W"; mkdir -p "$W/fio"
cleanup() {
  for p in ${A_PID:-} ${B_PID:-}; do kill "$p" 2>/dev/null || true; done
  [ -s "$W/nbdkit.pid" ] && kill "$(cat "$W/nbdkit.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
wait_port() { for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$1/${2:-}" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }
run_fio() { # target workload uri
  case $2 in
    seq1m) WL="--rw=write --bs=1M" ;;
    rand4k) WL="--rw=randwrite --bs=4k --randrepeat=0" ;;
    read4k) WL="--rw=randread --bs=4k --randrepeat=0" ;;
  esac
  if [ "$SUSTAINED" = 1 ]; then sync; echo 3 >/proc/sys/vm/drop_caches; fi
  fio --name="$1-$2" --ioengine=nbd --uri="$3" $WL --iodepth=16 --size=$FIO_SIZE --runtime="$RT" --ramp_time=2 \
      --time_based --output-format=json --output="$W/fio/$1.$2.json" >/dev/null 2>&1 \
      || { echo "fio failed: $1 $2" >&2; exit 1; }
}

"$TAPLINE" --version >/dev/null
"$TAPLINE" replay --listen 127.0.0.1:$B_LINK --data "$W/b-data" --nbd 127.0.0.1:$B_NBD >"$W/b.log" 2>&1 & B_PID=$!
"$TAPLINE" wedge --nbd 127.0.0.1:$A_NBD --export vol1 --volume "$W/a.img" --size $SIZE --buffer "$W/a-buffer" \
  --remote 127.0.0.1:$B_LINK >"$W/a.log" 2>&1 & A_PID=$!
wait_port $A_NBD vol1
qemu-img convert -n -f raw -O raw <(head -c 1G /dev/urandom) "nbd://127.0.0.1:$A_NBD/vol1" 2>/dev/null \
  || { head -c 1G /dev/urandom >"$W/data.img"; qemu-img convert -n -f raw -O raw "$W/data.img" "nbd://127.0.0.1:$A_NBD/vol1"; rm -f "$W/data.img"; }
"$TAPLINE" status --buffer "$W/a-buffer" --wait-synced 300 >/dev/null
kill "$A_PID"; wait "$A_PID" 2>/dev/null || true; A_PID=
"$TAPLINE" promote --remote 127.0.0.1:$B_LINK --volume vol1 >/dev/null
for w in seq1m rand4k read4k; do run_fio promoted $w "nbd://127.0.0.1:$B_NBD/vol1"; done
kill "$B_PID"; wait "$B_PID" 2>/dev/null || true; B_PID=
nbdkit -P "$W/nbdkit.pid" --port $NBDKIT_PORT -i 127.0.0.1 file "$W/b-data/vol1/replica.img"
wait_port $NBDKIT_PORT
for w in seq1m rand4k read4k; do run_fio nbdkit $w "nbd://127.0.0.1:$NBDKIT_PORT"; done

python3 - "$W/fio" <<'PY'
import json, sys
d = sys.argv[1]
def val(t, w):
    j = json.load(open(f"{d}/{t}.{w}.json"))["jobs"][0]
    side = j["read"] if w == "read4k" else j["write"]
    return side["bw_bytes"] / 1e6 if w == "seq1m" else side["iops"]
for w, unit in (("seq1m", "MB/s"), ("rand4k", "IOPS"), ("read4k", "IOPS")):
    p, n = val("promoted", w), val("nbdkit", w)
    print(f"{w:7} promoted replica {p:9.0f} {unit:5} nbdkit {n:9.0f} {unit:5} ratio {p / n:.2f}x")
PY
