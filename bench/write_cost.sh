#!/usr/bin/env bash
# What a host's sequential writes cost the wedge and a local replayer, per GiB: a wedge with a live
# replayer on this machine, fio's nbd engine writing 1 MiB QD16 for RUNTIME_S (page cache dropped
# before), then `tapline status --wait-synced`; prints the host's write rate, the bytes replicated
# per second until synced, and the CPU seconds and minor page faults of each process per GiB the
# host wrote (/proc/PID/stat), and checks the replica with cmp.
# With BASE=/path/to/another/checkout (built), each round runs that build first, then this one:
# interleaved pairs, as docs/benchmarks.md#aligned-staging compares two builds.
# Usage: bench/write_cost.sh [ROUNDS=3] [RUNTIME_S=10] [WORKDIR=/tmp/tapline-write-cost]
# Needs: fio with its nbd engine, libnbd-bin (nbdinfo), Java 17 + Maven (the CLI builds itself).
set -euo pipefail
ROUNDS=${1:-3}; RT=${2:-10}; W=${3:-/tmp/tapline-write-cost}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
NBD_PORT=${NBD_PORT:-12810}; LINK_PORT=${LINK_PORT:-17171}
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
stat_of() { awk '{print $14+$15, $10}' "/proc/$1/stat"; }   # utime+stime (ticks), minor faults

run_once() {  # LABEL CHECKOUT
  local label=$1 T=$2 d="$W/$1"
  rm -rf "$d"; mkdir -p "$d"
  "$T/tapline" replay --listen 127.0.0.1:$LINK_PORT --data "$d/remote" >"$d/replay.log" 2>&1 & local rp=$!
  "$T/tapline" wedge --nbd 127.0.0.1:$NBD_PORT --export vol1 --volume "$d/primary.img" --size 2G \
    --buffer "$d/buffer" --buffer-max 24G --remote 127.0.0.1:$LINK_PORT >"$d/wedge.log" 2>&1 & local wp=$!
  PIDS=("$rp" "$wp")
  for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$NBD_PORT/vol1" >/dev/null 2>&1 && break; sleep 0.1; done
  sleep 1; sync; echo 3 > /proc/sys/vm/drop_caches
  local wc0 wf0 rc0 rf0 wc1 wf1 rc1 rf1 t0 t1 io
  read -r wc0 wf0 < <(stat_of "$wp"); read -r rc0 rf0 < <(stat_of "$rp"); t0=$(date +%s.%N)
  fio --name=seq --ioengine=nbd --uri="nbd://127.0.0.1:$NBD_PORT/vol1" --rw=write --bs=1M --iodepth=16 \
    --size=1G --runtime="$RT" --time_based --output-format=json --output="$d/fio.json" >/dev/null 2>&1
  "$T/tapline" status --buffer "$d/buffer" --wait-synced 900 >/dev/null
  t1=$(date +%s.%N); read -r wc1 wf1 < <(stat_of "$wp"); read -r rc1 rf1 < <(stat_of "$rp")
  io=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0]["write"]["io_bytes"])' "$d/fio.json")
  cmp "$d/primary.img" "$d/remote/vol1/replica.img" >/dev/null || { echo "$label: replica differs from the primary" >&2; exit 1; }
  python3 -c "
g=$io/2**30; tick=100
print('%-6s host=%4.0f MB/s  replicated=%4.0f MB/s until synced  wedge: %.2f s CPU, %6d faults per GiB  replayer: %.2f s CPU, %6d faults per GiB'
      % ('$label', $io/1e6/$RT, $io/1e6/($t1-$t0), ($wc1-$wc0)/tick/g, ($wf1-$wf0)/g, ($rc1-$rc0)/tick/g, ($rf1-$rf0)/g))"
  kill "$wp" "$rp"; wait "$wp" "$rp" 2>/dev/null || true; PIDS=()
  rm -rf "$d"
}

"$here/tapline" --version >/dev/null
[ -n "${BASE:-}" ] && "$BASE/tapline" --version >/dev/null
for _ in $(seq "$ROUNDS"); do
  [ -n "${BASE:-}" ] && run_once base "$BASE"
  run_once this "$here"
done
