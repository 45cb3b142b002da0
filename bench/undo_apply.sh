#!/usr/bin/env bash
# Undo-log benchmark, one run, on the disk holding WORKDIR:
#   raw       dd of 1 GiB of random data, O_DIRECT + fsync (the disk's sequential write rate)
#   apply     a replayer applying 1 GiB of overwrites (real before-images, undo log on) that a
#             wedge captured while the replayer was down: time from replayer start to synced
#   rollback  rolling that 1 GiB of changes back to the mark placed before it
# Prints apply rate / raw rate (target >= 0.5x) and rollback time / raw write time (target <= 2x),
# and the CPU (user + system) of the wedge during the catch-up and of the replayer from its start.
# Usage: bench/undo_apply.sh [WORKDIR=/tmp/tapline-undo-bench]   (KEEP=1 keeps WORKDIR, ~4 GiB, afterwards)
# Profile the timed replayer only: REPLAY_JAVA_OPTS=-XX:StartFlightRecording=filename=/tmp/r.jfr,settings=profile
# (WEDGE_JAVA_OPTS likewise for the wedge, whose shipper feeds the replayer)
# ROLLBACK_CLI=/usr/bin/tapline times the rollback through the installed package's launcher (what an
# operator runs; default: the repository's ./tapline, whose staleness check adds ~30 ms).
# Needs: nbdcopy (libnbd-bin), Java 17 + Maven (the CLI builds itself on first use).
set -euo pipefail
W=${1:-/tmp/tapline-undo-bench}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
WEDGE_PORT=${WEDGE_PORT:-11819}; LINK_PORT=${LINK_PORT:-17079}
SIZE_MB=1024
rm -rf "$W"; mkdir -p "$W"
cleanup() {
  [ -n "${WEDGE_PID:-}" ] && kill "$WEDGE_PID" 2>/dev/null || true
  [ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  # Its volumes, buffer, undo log and logs are ~4 GiB: gone unless KEEP=1 asks for them.
  [ "${KEEP:-0}" = 1 ] && echo "kept: $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
now() { date +%s.%N; }
wait_port() { for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$1/${2:-}" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }

"$TAPLINE" --version >/dev/null
head -c $((SIZE_MB << 20)) /dev/urandom >"$W/a.bin"
head -c $((SIZE_MB << 20)) /dev/urandom >"$W/b.bin"

t0=$(now); dd if="$W/a.bin" of="$W/raw.img" bs=1M count=$SIZE_MB oflag=direct conv=fsync status=none; t1=$(now)
RAW_S=$(echo "$t1 - $t0" | bc -l); rm -f "$W/raw.img"

"$TAPLINE" replay --listen 127.0.0.1:$LINK_PORT --data "$W/remote" >"$W/replay.log" 2>&1 & REPLAY_PID=$!
TAPLINE_JAVA_OPTS="${WEDGE_JAVA_OPTS:-${TAPLINE_JAVA_OPTS:-}}" "$TAPLINE" wedge --nbd 127.0.0.1:$WEDGE_PORT --export vol1 --volume "$W/primary.img" --size $((SIZE_MB + 64))M \
  --buffer "$W/buffer" --buffer-max 8G --remote 127.0.0.1:$LINK_PORT >"$W/wedge.log" 2>&1 & WEDGE_PID=$!
wait_port $WEDGE_PORT vol1
nbdcopy "$W/a.bin" "nbd://127.0.0.1:$WEDGE_PORT/vol1"
"$TAPLINE" status --buffer "$W/buffer" --wait-synced 900 >/dev/null
"$TAPLINE" mark --buffer "$W/buffer" --volume vol1 before-b >/dev/null

# Phase B: the replayer is down while 1 GiB of overwrites is captured; then time its catch-up.
kill "$REPLAY_PID"; wait "$REPLAY_PID" 2>/dev/null || true; REPLAY_PID=
nbdcopy "$W/b.bin" "nbd://127.0.0.1:$WEDGE_PORT/vol1"
# CPU seconds (user + system) of a process so far, from /proc/PID/stat.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"; }
# Minor page faults of a process so far: first touches of new memory, costly on some VMs (docs/benchmarks.md#first-touch).
faults() { awk '{ sub(/^.*\) /, ""); print $8 }' "/proc/$1/stat"; }
WEDGE_CPU0=$(cpu_s "$WEDGE_PID"); WEDGE_FLT0=$(faults "$WEDGE_PID")
t0=$(now)
TAPLINE_JAVA_OPTS="${REPLAY_JAVA_OPTS:-${TAPLINE_JAVA_OPTS:-}}" \
  "$TAPLINE" replay --listen 127.0.0.1:$LINK_PORT --data "$W/remote" >>"$W/replay.log" 2>&1 & REPLAY_PID=$!
"$TAPLINE" status --buffer "$W/buffer" --wait-synced 1800 >/dev/null
t1=$(now); APPLY_S=$(echo "$t1 - $t0" | bc -l)
WEDGE_CPU=$(echo "$(cpu_s "$WEDGE_PID") - $WEDGE_CPU0" | bc -l); REPLAY_CPU=$(cpu_s "$REPLAY_PID")
WEDGE_FLT=$(( $(faults "$WEDGE_PID") - WEDGE_FLT0 )); REPLAY_FLT=$(faults "$REPLAY_PID")
UNDO_MB=$(du -sm "$W/remote/vol1/undo" | cut -f1)
# Without the replayer's JVM start-up and handshake: from its "volume opened" log line (second run).
logsec() { python3 -c 'import sys,datetime as d
t=d.datetime.strptime(sys.argv[1],"%H:%M:%S.%f").time(); print(d.datetime.combine(d.date.today(),t).timestamp())' "$1"; }
OPEN_T=$(grep "volume opened" "$W/replay.log" | tail -1 | cut -d' ' -f1)
APPLY_NOJVM_S=$(echo "$t1 - $(logsec "$OPEN_T")" | bc -l)

t0=$(now)
"${ROLLBACK_CLI:-$TAPLINE}" rollback --remote 127.0.0.1:$LINK_PORT --volume vol1 --to-mark before-b 2>/dev/null >"$W/rollback.out"
t1=$(now); ROLLBACK_S=$(echo "$t1 - $t0" | bc -l)
# The rollback itself, as the replayer logged it (no CLI JVM start-up, no connection set-up).
RB0=$(grep "rollback started" "$W/replay.log" | tail -1 | cut -d' ' -f1)
RB1=$(grep "rollback done" "$W/replay.log" | tail -1 | cut -d' ' -f1)
ROLLBACK_SERVER_S=$(echo "$(logsec "$RB1") - $(logsec "$RB0")" | bc -l)
cmp -s <(head -c $((SIZE_MB << 20)) "$W/remote/vol1/replica.img") "$W/a.bin" || { echo "replica != image at the mark" >&2; exit 1; }

echo "CPU during the catch-up (user + system): wedge $(printf %.2f "$WEDGE_CPU") s, replayer $(printf %.2f "$REPLAY_CPU") s (from its JVM start), $(nproc) cores"
echo "minor page faults during the catch-up: wedge $WEDGE_FLT, replayer $REPLAY_FLT (from its JVM start; 4 KiB each unless huge)"
python3 - "$SIZE_MB" "$RAW_S" "$APPLY_S" "$ROLLBACK_S" "$UNDO_MB" "$APPLY_NOJVM_S" "$ROLLBACK_SERVER_S" <<'PY'
import sys
mb, raw, apply_s, rb, undo, apply_nojvm, rb_server = int(sys.argv[1]), *map(float, sys.argv[2:5]), int(sys.argv[5]), *map(float, sys.argv[6:8])
print(f"raw dd O_DIRECT+fsync  {mb} MiB in {raw:7.2f} s = {mb/raw:7.1f} MiB/s")
print(f"apply with undo log    {mb} MiB in {apply_s:7.2f} s = {mb/apply_s:7.1f} MiB/s (undo log {undo} MiB), replayer start to synced")
print(f"                       {mb} MiB in {apply_nojvm:7.2f} s = {mb/apply_nojvm:7.1f} MiB/s from 'volume opened' (no JVM start)")
print(f"rollback of {mb} MiB    in {rb:7.2f} s (CLI wall, JVM start included); {rb_server:.2f} s as logged by the replayer")
print(f"ratio apply/raw = {(mb/apply_s)/(mb/raw):.2f}x ({raw/apply_nojvm:.2f}x without JVM start; target >= 0.5x); "
      f"rollback/raw-write = {rb/raw:.2f}x CLI, {rb_server/raw:.2f}x replayer (target <= 2x)")
PY
