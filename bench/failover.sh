#!/usr/bin/env bash
# Failover benchmark, one run, on loopback, files under WORKDIR:
#   switchover  a wedge node A (--listen) ships a volume to a replayer node B (--nbd) while a qemu-io
#               writer runs on A; `tapline switchover --from A --to B` is timed from the command to B
#               serving writes (target <= 2 s).
#   failback    A is lost (kill -9), B is promoted (--force --peer A), B's host changes 1 % of the
#               volume (4 KiB blocks at random), A restarts with its usual command, is fenced, keeps
#               what never shipped aside and rejoins: the whole-volume checksum resync is timed
#               (A's restart to `status --wait-synced` on B) and its bytes on the wire counted
#               (lo's tx counter and the resync's own bytesSent; target <= 2 x the bytes B changed).
# Usage: bench/failover.sh [WORKDIR=/tmp/tapline-failover-bench] [SIZE_MIB=4096] [DATA_MIB=1024]
# Needs: qemu-utils, libnbd-bin (nbdinfo), python3, Java 17 + Maven.
set -euo pipefail
W=${1:-/tmp/tapline-failover-bench}
SIZE_MB=${2:-4096}
DATA_MB=${3:-1024}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
A_NBD=${A_NBD:-11901}; A_LINK=${A_LINK:-17901}; B_NBD=${B_NBD:-11902}; B_LINK=${B_LINK:-17902}
rm -rf "$W"; mkdir -p "$W"
cleanup() {
  for p in ${A_PID:-} ${B_PID:-} ${WRITER_PID:-}; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
now() { date +%s.%N; }
lo_tx() { cat /sys/class/net/lo/statistics/tx_bytes; }
wait_port() { for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$1/vol1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }
start_a() {
  "$TAPLINE" wedge --nbd 127.0.0.1:$A_NBD --export vol1 --volume "$W/a.img" --size ${SIZE_MB}M \
    --buffer "$W/a-buffer" --remote 127.0.0.1:$B_LINK --listen 127.0.0.1:$A_LINK >>"$W/a.log" 2>&1 & A_PID=$!
}

"$TAPLINE" --version >/dev/null
"$TAPLINE" replay --listen 127.0.0.1:$B_LINK --data "$W/b-data" --nbd 127.0.0.1:$B_NBD >"$W/b.log" 2>&1 & B_PID=$!
start_a
wait_port $A_NBD
echo "writing ${DATA_MB} MiB of random data through A ..." >&2
head -c $((DATA_MB << 20)) /dev/urandom >"$W/data.img"
qemu-img convert -n -f raw -O raw "$W/data.img" "nbd://127.0.0.1:$A_NBD/vol1"
rm -f "$W/data.img"
"$TAPLINE" status --buffer "$W/a-buffer" --wait-synced 300 >/dev/null

# --- switchover with a writer running on A ---
( for i in $(seq 2000); do echo "write -P $((i % 250 + 1)) $(( (i * 4096) % (DATA_MB << 20) )) 4k"; echo "flush"; sleep 0.01; done ) \
  | qemu-io -f raw "nbd://127.0.0.1:$A_NBD/vol1" >"$W/writer.log" 2>&1 & WRITER_PID=$!
sleep 2
t0=$(now)
"$TAPLINE" switchover --volume vol1 --from 127.0.0.1:$A_LINK --to 127.0.0.1:$B_LINK --json >"$W/switchover.json"
qemu-io -f raw -c "write -P 7 0 4k" "nbd://127.0.0.1:$B_NBD/vol1" >/dev/null
t1=$(now)
kill "$WRITER_PID" 2>/dev/null || true; wait "$WRITER_PID" 2>/dev/null || true; WRITER_PID=
"$TAPLINE" status --buffer "$W/b-data/vol1/primary" --wait-synced 300 >/dev/null
[ "$(md5sum <"$W/a.img")" = "$(md5sum <"$W/b-data/vol1/replica.img")" ] || { echo "A != B after switchover" >&2; exit 1; }

# --- failback: back to A first (planned), then A is lost and B promoted with --force ---
"$TAPLINE" switchover --volume vol1 --from 127.0.0.1:$B_LINK --to 127.0.0.1:$A_LINK >/dev/null
"$TAPLINE" status --buffer "$W/a-buffer/node/vol1/primary" --wait-synced 300 >/dev/null
kill -9 "$A_PID"; wait "$A_PID" 2>/dev/null || true; A_PID=
"$TAPLINE" promote --remote 127.0.0.1:$B_LINK --volume vol1 --force --peer 127.0.0.1:$A_LINK >/dev/null
python3 - "$SIZE_MB" >"$W/changes.qemu-io" <<'PY'
import random, sys
mib = int(sys.argv[1]); blocks = mib * 256; random.seed(9)
for b in random.sample(range(blocks), blocks // 100):
    print(f"write -P {b % 251 + 1} {b * 4096} 4k")
print("flush")
PY
CHANGED=$((SIZE_MB * 256 / 100 * 4096))
qemu-io -f raw "nbd://127.0.0.1:$B_NBD/vol1" <"$W/changes.qemu-io" >/dev/null
tx0=$(lo_tx); t2=$(now)
start_a
"$TAPLINE" status --buffer "$W/b-data/vol1/primary" --wait-synced 900 >/dev/null
t3=$(now); tx1=$(lo_tx)
[ "$(md5sum <"$W/a.img")" = "$(md5sum <"$W/b-data/vol1/replica.img")" ] || { echo "A != B after failback" >&2; exit 1; }
"$TAPLINE" status --buffer "$W/b-data/vol1/primary" --json >"$W/b-status.json"
python3 - "$W" "$t0" "$t1" "$t2" "$t3" "$tx0" "$tx1" "$CHANGED" "$SIZE_MB" <<'PY'
import json, sys
w, t0, t1, t2, t3, tx0, tx1, changed, size = sys.argv[1:]
sw = json.load(open(f"{w}/switchover.json"))
st = json.load(open(f"{w}/b-status.json"))["volumes"][0]
sent = (st.get("resync") or {}).get("bytesSent", 0)
wire = int(tx1) - int(tx0)
print(f"switchover with a writer on A: command {sw['millis']} ms, command to B serving a write "
      f"{float(t1) - float(t0):.2f} s (target <= 2 s)")
print(f"failback of {size} MiB with 1 % changed on B ({int(changed) / 2**20:.1f} MiB): "
      f"{float(t3) - float(t2):.1f} s from A's restart to synced; resync sent {sent / 2**20:.1f} MiB "
      f"({sent / int(changed):.2f}x the change), lo tx {wire / 2**20:.1f} MiB ({wire / int(changed):.2f}x; both "
      f"directions, framing and hashes)")
PY
