#!/usr/bin/env bash
# Resync and verify benchmark, one run, side by side, on the disk holding WORKDIR:
#   resync   a 4 GiB volume whose primary differs from its replica in 1 % of its 4 KiB blocks (at
#            random): `tapline resync --full` (wedge + replayer on loopback) against
#            `rsync --inplace --no-whole-file` to an rsync daemon on loopback. Time ratio (target
#            <= 0.5x rsync) and bytes on the wire (lo's tx counter; target <= 1.5 % of the volume).
#   verify   `tapline verify` of an identical 4 GiB volume against `cat primary replica >/dev/null`
#            (target >= 0.8x of that read rate).
# Page caches are dropped before each timed step when the kernel lets us (root, not in some
# containers): say which in the output.
# Usage: bench/resync_vs_rsync.sh [WORKDIR=/tmp/tapline-resync-bench] [SIZE_MIB=4096]
# Needs: rsync, qemu-utils (for nothing but nbdinfo: libnbd-bin), python3, Java 17 + Maven.
set -euo pipefail
W=${1:-/tmp/tapline-resync-bench}
SIZE_MB=${2:-4096}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
WEDGE_PORT=${WEDGE_PORT:-11829}; LINK_PORT=${LINK_PORT:-17089}; RSYNC_PORT=${RSYNC_PORT:-18873}
rm -rf "$W"; mkdir -p "$W/remote/vol1" "$W/rsync-dst"
cleanup() {
  [ -n "${WEDGE_PID:-}" ] && kill "$WEDGE_PID" 2>/dev/null || true
  [ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null || true
  [ -f "$W/rsyncd.pid" ] && kill "$(cat "$W/rsyncd.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
now() { date +%s.%N; }
drop() { sync; if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then echo dropped; else echo kept; fi; }
lo_tx() { cat /sys/class/net/lo/statistics/tx_bytes; }
wait_port() { for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$1/${2:-}" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }

"$TAPLINE" --version >/dev/null
echo "making a ${SIZE_MB} MiB base image and its copy with 1 % of 4 KiB blocks changed ..." >&2
head -c $((SIZE_MB << 20)) /dev/urandom >"$W/base.img"
cp "$W/base.img" "$W/remote/vol1/replica.img"
cp "$W/base.img" "$W/rsync-dst/replica.img"
cp "$W/base.img" "$W/primary.img"
python3 - "$W/primary.img" "$SIZE_MB" <<'PY'
import os, random, sys
path, mib = sys.argv[1], int(sys.argv[2])
blocks = mib * 256
random.seed(7)
chosen = random.sample(range(blocks), blocks // 100)
with open(path, "r+b") as f:
    for b in chosen:
        f.seek(b * 4096)
        f.write(os.urandom(4096))
print(f"changed {len(chosen)} blocks ({len(chosen) * 4096} bytes)", file=sys.stderr)
PY
CHANGED=$((SIZE_MB * 256 / 100 * 4096))

# --- tapline resync ---
"$TAPLINE" replay --listen 127.0.0.1:$LINK_PORT --data "$W/remote" >"$W/replay.log" 2>&1 & REPLAY_PID=$!
"$TAPLINE" wedge --nbd 127.0.0.1:$WEDGE_PORT --export vol1 --volume "$W/primary.img" --size ${SIZE_MB}M \
  --buffer "$W/buffer" --remote 127.0.0.1:$LINK_PORT >"$W/wedge.log" 2>&1 & WEDGE_PID=$!
wait_port $WEDGE_PORT vol1
"$TAPLINE" status --buffer "$W/buffer" --wait-synced 120 >/dev/null
CACHE=$(drop)
tx0=$(lo_tx); t0=$(now)
"$TAPLINE" resync --buffer "$W/buffer" --volume vol1 --full --json 2>/dev/null >"$W/resync.json"
"$TAPLINE" status --buffer "$W/buffer" --wait-synced 600 >/dev/null
t1=$(now); tx1=$(lo_tx)
T_RESYNC=$(echo "$t1 - $t0" | bc -l); WIRE_RESYNC=$((tx1 - tx0))
SENT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytesSent"])' "$W/resync.json")
cmp -s "$W/primary.img" "$W/remote/vol1/replica.img" && SAME=yes || SAME=NO

# --- tapline verify of identical volumes ---
drop >/dev/null
t0=$(now)
"$TAPLINE" verify --buffer "$W/buffer" --volume vol1 --json 2>/dev/null >"$W/verify.json"
t1=$(now); T_VERIFY=$(echo "$t1 - $t0" | bc -l)
drop >/dev/null
t0=$(now); cat "$W/primary.img" "$W/remote/vol1/replica.img" >/dev/null; t1=$(now)
T_CAT=$(echo "$t1 - $t0" | bc -l)
kill "$WEDGE_PID" "$REPLAY_PID"; wait 2>/dev/null || true; WEDGE_PID=; REPLAY_PID=

# --- rsync ---
cat >"$W/rsyncd.conf" <<CONF
pid file = $W/rsyncd.pid
use chroot = no
[dst]
path = $W/rsync-dst
read only = no
uid = root
gid = root
CONF
rsync --daemon --config="$W/rsyncd.conf" --port=$RSYNC_PORT --address=127.0.0.1
sleep 0.5
drop >/dev/null
tx0=$(lo_tx); t0=$(now)
rsync --inplace --no-whole-file "$W/primary.img" "rsync://127.0.0.1:$RSYNC_PORT/dst/replica.img"
t1=$(now); tx1=$(lo_tx)
T_RSYNC=$(echo "$t1 - $t0" | bc -l); WIRE_RSYNC=$((tx1 - tx0))
cmp -s "$W/primary.img" "$W/rsync-dst/replica.img" && RSAME=yes || RSAME=NO

VOL=$((SIZE_MB << 20))
python3 - <<PY
vol, changed = $VOL, $CHANGED
t_r, t_s, t_v, t_c = $T_RESYNC, $T_RSYNC, $T_VERIFY, $T_CAT
w_r, w_s, sent = $WIRE_RESYNC, $WIRE_RSYNC, $SENT
print(f"volume {vol >> 20} MiB, {changed} bytes changed in 4 KiB blocks ({100 * changed / vol:.2f} %), page cache: $CACHE")
print(f"tapline resync: {t_r:7.2f} s  wire {w_r / 2**20:8.1f} MiB ({100 * w_r / vol:.2f} % of the volume)  payload sent {sent / 2**20:.1f} MiB  replica == primary: $SAME")
print(f"rsync:          {t_s:7.2f} s  wire {w_s / 2**20:8.1f} MiB ({100 * w_s / vol:.2f} % of the volume)  replica == primary: $RSAME")
print(f"resync / rsync time ratio: {t_r / t_s:.2f}x (target <= 0.5x); wire {100 * w_r / vol:.2f} % (target <= 1.5 %)")
rate_v = 2 * vol / t_v / 2**20; rate_c = 2 * vol / t_c / 2**20
print(f"verify identical volume: {t_v:6.2f} s ({rate_v:.0f} MiB/s of both sides)  cat both: {t_c:6.2f} s ({rate_c:.0f} MiB/s)  ratio {rate_v / rate_c:.2f}x (target >= 0.8x)")
PY
