#!/usr/bin/env bash
# The activity log (issue 14, "crashes covered by an activity log of hot extents and a resync"):
# what it costs the host and what it saves after a kill -9, one run, side by side for
# --activity-extents 0 (no log: every chunk compared after a crash), 1024 (the default, 4 GiB)
# and 64 (256 MiB).
#
# Cost (capture-only wedge, no remote; page cache dropped before each):
#   fio random 4 KiB writes, iodepth 16, RUNTIME_S seconds over the whole SIZE volume (more
#   extents than 1024 are written, so writes keep reaching extents that are not hot), the same
#   over its first 2 GiB (the P3 burst's region: it fits in 1024 extents, not in 64), then
#   sequential 1 MiB writes, iodepth 16, RUNTIME_S seconds; nbdkit file on the same file system
#   as the reference.
# Benefit (wedge + replayer; the replica on tmpfs, standing for the remote site's disk):
#   FILL of sequential writes ending with an fsync, `status --wait-synced`, then 5 s of random
#   4 KiB writes in the first 256 MiB without a flush, kill -9 of the wedge, a restart, and the
#   time until `status --wait-synced` returns; the resync's compared bytes from the metrics.
# Usage: bench/activity_log.sh [RUNTIME_S=20] [WORKDIR=/tmp/tapline-activity] [SIZE=12G] [FILL=8G]
# Needs SIZE + FILL + 4 GiB free in WORKDIR, FILL + 2 GiB free memory for /dev/shm, root (to drop
# caches), fio, nbdkit, libnbd-bin, Java 17 + Maven.
set -euo pipefail
RT=${1:-20}; W=${2:-/tmp/tapline-activity}; SIZE=${3:-12G}; FILL=${4:-8G}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
PORT=${PORT:-11850}; LINK=${LINK:-11851}; METRICS=${METRICS:-11852}
R=/dev/shm/tapline-activity-remote
rm -rf "$W" "$R"; mkdir -p "$W"
cleanup() {
  [ -n "${PID:-}" ] && kill -9 "$PID" 2>/dev/null || true
  [ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null || true
  [ -s "$W/nbdkit.pid" ] && kill "$(cat "$W/nbdkit.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$R"
}
trap cleanup EXIT
wait_port() { for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$1/${2:-}" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }
wait_tcp() { for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
iops() { python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['jobs'][0]['write']['iops']))" "$1"; }
mbps() { python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['jobs'][0]['write']['bw_bytes']/1e6))" "$1"; }
metric() { python3 -c "
import sys, urllib.request
for line in urllib.request.urlopen('http://127.0.0.1:$METRICS/metrics').read().decode().splitlines():
    if line.startswith(sys.argv[1] + '{') or line.startswith(sys.argv[1] + ' '):
        print(int(float(line.split()[-1]))); break
" "$1"; }
fio_run() { # name uri rw bs [extra]
  fio --name="$1" --ioengine=nbd --uri="$2" --rw="$3" --bs="$4" --iodepth=16 --size=${FIO_SIZE:-$SIZE} --runtime="$RT" \
      --time_based --randrepeat=0 ${5:-} --output-format=json --output="$W/$1.json" >/dev/null 2>&1 \
      || { echo "fio failed: $1" >&2; exit 1; }
}
declare -A RAND RAND2G SEQ RESYNC COMPARED TRANSACTIONS

"$TAPLINE" --version >/dev/null   # builds the CLI if needed, outside the measured part

# ---- cost: capture-only ----
truncate -s $SIZE "$W/nbdkit.img"; drop_caches
nbdkit -P "$W/nbdkit.pid" --port $PORT -i 127.0.0.1 file "$W/nbdkit.img"
wait_port $PORT
fio_run nbdkit_rand "nbd://127.0.0.1:$PORT" randwrite 4k
FIO_SIZE=2G fio_run nbdkit_rand2g "nbd://127.0.0.1:$PORT" randwrite 4k
fio_run nbdkit_seq "nbd://127.0.0.1:$PORT" write 1M
kill "$(cat "$W/nbdkit.pid")"; while [ -e "/proc/$(cat "$W/nbdkit.pid")" ]; do sleep 0.1; done; rm -f "$W/nbdkit.pid"
RAND[nbdkit]=$(iops "$W/nbdkit_rand.json"); RAND2G[nbdkit]=$(iops "$W/nbdkit_rand2g.json"); SEQ[nbdkit]=$(mbps "$W/nbdkit_seq.json"); rm -f "$W/nbdkit.img"

for n in 0 1024 64; do
  rm -rf "$W/buffer" "$W/primary.img"; drop_caches
  "$TAPLINE" wedge --nbd 127.0.0.1:$PORT --export vol1 --volume "$W/primary.img" --size $SIZE \
    --buffer "$W/buffer" --buffer-max 40G --activity-extents $n >"$W/cost-$n.log" 2>&1 & PID=$!
  wait_port $PORT vol1
  fio_run "rand_$n" "nbd://127.0.0.1:$PORT/vol1" randwrite 4k
  FIO_SIZE=2G fio_run "rand2g_$n" "nbd://127.0.0.1:$PORT/vol1" randwrite 4k
  fio_run "seq_$n" "nbd://127.0.0.1:$PORT/vol1" write 1M
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  RAND[$n]=$(iops "$W/rand_$n.json"); RAND2G[$n]=$(iops "$W/rand2g_$n.json"); SEQ[$n]=$(mbps "$W/seq_$n.json")
  TRANSACTIONS[$n]=$(grep -o 'transactions=[0-9]*' "$W/cost-$n.log" | cut -d= -f2 || echo -)
done
rm -rf "$W/buffer" "$W/primary.img"

# ---- benefit: the resync after kill -9 ----
for n in 0 1024 64; do
  rm -rf "$W/buffer" "$W/primary.img" "$R"; mkdir -p "$R"; drop_caches
  "$TAPLINE" replay --listen 127.0.0.1:$LINK --data "$R" --undo-max-bytes 1G >"$W/replay-$n.log" 2>&1 & RPID=$!
  wait_tcp $LINK
  start_wedge() {
    "$TAPLINE" wedge --nbd 127.0.0.1:$PORT --export vol1 --volume "$W/primary.img" --size $SIZE \
      --buffer "$W/buffer" --buffer-max 40G --remote 127.0.0.1:$LINK --primary-cache none \
      --metrics 127.0.0.1:$METRICS --activity-extents $n >>"$W/wedge-$n.log" 2>&1 & PID=$!
    wait_port $PORT vol1
  }
  start_wedge
  fio --name=fill --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/vol1" --rw=write --bs=1M --iodepth=16 \
      --size=$FILL --end_fsync=1 --output-format=json --output="$W/fill-$n.json" >/dev/null 2>&1
  "$TAPLINE" status --buffer "$W/buffer" --wait-synced 900 >/dev/null
  fio --name=burst --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/vol1" --rw=randwrite --bs=4k --iodepth=16 \
      --size=256M --runtime=5 --time_based --randrepeat=0 --output-format=json --output="$W/burst-$n.json" >/dev/null 2>&1
  kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=
  drop_caches
  t0=$(date +%s.%N)
  start_wedge
  "$TAPLINE" status --buffer "$W/buffer" --wait-synced 900 >/dev/null
  t1=$(date +%s.%N)
  RESYNC[$n]=$(python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f}')" "$t0" "$t1")
  COMPARED[$n]=$(( $(metric tapline_resync_compared_bytes_total) >> 20 ))
  grep -o 'activity log names [0-9]* hot extents\|every chunk is tracked' "$W/wedge-$n.log" | head -1 > "$W/tracked-$n.txt" || true
  if ! cmp -s "$W/primary.img" "$R/vol1/replica.img"; then
    RESYNC[$n]="${RESYNC[$n]} (INVALID: the replica differs from the primary)"
  fi
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  kill "$RPID"; wait "$RPID" 2>/dev/null || true; RPID=
done

printf '%-16s %14s %14s %12s %12s %16s %13s  %s\n' "activity extents" "rand 4K IOPS" "in 2 GiB" "seq 1M MB/s" \
  "transactions" "resync after -9" "compared MiB" "tracked at restart"
printf '%-16s %14s %14s %12s\n' "nbdkit file" "${RAND[nbdkit]}" "${RAND2G[nbdkit]}" "${SEQ[nbdkit]}"
for n in 0 1024 64; do
  printf '%-16s %14s %14s %12s %12s %14s s %13s  %s\n' "$n" "${RAND[$n]}" "${RAND2G[$n]}" "${SEQ[$n]}" \
    "${TRANSACTIONS[$n]:--}" "${RESYNC[$n]}" "${COMPARED[$n]}" "$(cat "$W/tracked-$n.txt")"
done
python3 - "${RAND[0]}" "${RAND[1024]}" "${RAND[64]}" "${RAND2G[0]}" "${RAND2G[1024]}" "${RAND2G[64]}" \
  "${SEQ[0]}" "${SEQ[1024]}" "${SEQ[64]}" <<'PY'
import sys
r0, r1024, r64, q0, q1024, q64, s0, s1024, s64 = map(float, sys.argv[1:])
print(f"random 4K over the volume, with the log / without: 1024 extents {r1024/r0:.2f}x, 64 extents {r64/r0:.2f}x")
print(f"random 4K over 2 GiB, with the log / without: 1024 extents {q1024/q0:.2f}x, 64 extents {q64/q0:.2f}x")
print(f"sequential 1M with the log / without: 1024 extents {s1024/s0:.2f}x, 64 extents {s64/s0:.2f}x")
PY
