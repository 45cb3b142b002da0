#!/usr/bin/env bash
# A write-once wedge after a power cut (issue 14, P3 sustained: "crashes covered by an activity
# log of hot extents and a resync"): how long until its replica is synced again, and how much
# the resync compares, side by side for --activity-extents 0 (no log: every chunk, which is what
# every write-once power cut cost before the log recorded coldThrough), 1024 (default) and 64.
#
# Each run: wedge (write-once buffer, primary O_DIRECT) + replayer (replica on tmpfs, standing for
# the remote site's disk); FILL of sequential 1 MiB writes ending with an fsync, `status
# --wait-synced`; 5 s of random 4 KiB writes in the first 256 MiB without a flush; kill -9; then
# the disk as a reboot leaves it: sequence.reserved rewritten as another boot's (zero boot id, CRC
# resealed, docs/formats.md) so the buffer drops its segments, page cache dropped; a restart and
# the time until `status --wait-synced` returns; the resync's compared bytes from the metrics; the
# replica `cmp`-checked against the primary. (What a real power cut also does, lose the primary's
# unflushed pages, is in CrashAndOutageIT#writeOnceWedgeAfterAPowerCutResyncsOnlyItsHotExtents.)
# Usage: bench/write_once_power_cut.sh [WORKDIR=/tmp/tapline-powercut] [SIZE=12G] [FILL=8G]
# Needs SIZE + 4 GiB free in WORKDIR, FILL + 2 GiB free memory for /dev/shm, root (to drop caches),
# fio, libnbd-bin, Java 17 + Maven.
set -euo pipefail
W=${1:-/tmp/tapline-powercut}; SIZE=${2:-12G}; FILL=${3:-8G}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
PORT=${PORT:-11860}; LINK=${LINK:-11861}; METRICS=${METRICS:-11862}
R=/dev/shm/tapline-powercut-remote
rm -rf "$W" "$R"; mkdir -p "$W"
cleanup() {
  [ -n "${PID:-}" ] && kill -9 "$PID" 2>/dev/null || true
  [ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$R"
}
trap cleanup EXIT
wait_port() { for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$1/${2:-}" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }
wait_tcp() { for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
metric() { python3 -c "
import sys, urllib.request
for line in urllib.request.urlopen('http://127.0.0.1:$METRICS/metrics').read().decode().splitlines():
    if line.startswith(sys.argv[1] + '{') or line.startswith(sys.argv[1] + ' '):
        print(int(float(line.split()[-1]))); break
" "$1"; }
forget_boot() { python3 - "$1" <<'PY'
import struct, sys
path = sys.argv[1]
b = bytearray(open(path, 'rb').read())
b[16:32] = bytes(16)
# CRC-32C (Castagnoli), bitwise: the file is 36 bytes.
crc = 0xFFFFFFFF
for byte in b[:32]:
    crc ^= byte
    for _ in range(8):
        crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
b[32:36] = struct.pack('>I', crc ^ 0xFFFFFFFF)
open(path, 'wb').write(b)
PY
}
declare -A RESYNC COMPARED

"$TAPLINE" --version >/dev/null   # builds the CLI if needed, outside the measured part

for n in 0 1024 64; do
  rm -rf "$W/buffer" "$W/primary.img" "$R"; mkdir -p "$R"; drop_caches
  "$TAPLINE" replay --listen 127.0.0.1:$LINK --data "$R" --undo-max-bytes 1G >"$W/replay-$n.log" 2>&1 & RPID=$!
  wait_tcp $LINK
  start_wedge() {
    "$TAPLINE" wedge --nbd 127.0.0.1:$PORT --export vol1 --volume "$W/primary.img" --size $SIZE \
      --buffer "$W/buffer" --buffer-max 40G --remote 127.0.0.1:$LINK --primary-cache none \
      --buffer-durability write-once --metrics 127.0.0.1:$METRICS --activity-extents $n >>"$W/wedge-$n.log" 2>&1 & PID=$!
    wait_port $PORT vol1
  }
  start_wedge
  fio --name=fill --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/vol1" --rw=write --bs=1M --iodepth=16 \
      --size=$FILL --end_fsync=1 --output-format=json --output="$W/fill-$n.json" >/dev/null 2>&1
  "$TAPLINE" status --buffer "$W/buffer" --wait-synced 900 >/dev/null
  fio --name=burst --ioengine=nbd --uri="nbd://127.0.0.1:$PORT/vol1" --rw=randwrite --bs=4k --iodepth=16 \
      --size=256M --runtime=5 --time_based --randrepeat=0 --output-format=json --output="$W/burst-$n.json" >/dev/null 2>&1
  kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=
  forget_boot "$W/buffer/vol1/sequence.reserved"
  drop_caches
  t0=$(date +%s.%N)
  start_wedge
  "$TAPLINE" status --buffer "$W/buffer" --wait-synced 900 >/dev/null
  t1=$(date +%s.%N)
  grep -q "before a reboot" "$W/wedge-$n.log" || { echo "the restart did not take the cut for another boot's" >&2; exit 1; }
  RESYNC[$n]=$(python3 -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f}')" "$t0" "$t1")
  COMPARED[$n]=$(( $(metric tapline_resync_compared_bytes_total) >> 20 ))
  if ! cmp -s "$W/primary.img" "$R/vol1/replica.img"; then
    RESYNC[$n]="${RESYNC[$n]} (INVALID: the replica differs from the primary)"
  fi
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  kill "$RPID"; wait "$RPID" 2>/dev/null || true; RPID=
done

printf '%-16s %26s %13s\n' "activity extents" "synced after the power cut" "compared MiB"
for n in 0 1024 64; do
  printf '%-16s %24s s %13s\n' "$n" "${RESYNC[$n]}" "${COMPARED[$n]}"
done
