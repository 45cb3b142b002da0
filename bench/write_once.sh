#!/usr/bin/env bash
# The write-once buffer against the durable one, with a replayer that keeps up (issue 14, P3
# sustained beyond the two-copy limit), one run, side by side: fio sequential 1 MiB writes,
# iodepth 16, for RUNTIME_S seconds on a SIZE sparse volume, page cache dropped before each target:
#   - disk:            fio O_DIRECT (libaio) on a plain file in WORKDIR: the disk's write rate,
#   - nbdkit_nocache:  nbdkit file cache=none, its fastest sustained setting (each byte written once),
#   - durable:         wedge --primary-cache none + a local replayer, the buffer durable (default),
#   - write_once:      the same with --buffer-durability write-once,
#   - durable_paced, write_once_paced: the same two with fio held to RATE (default 150 MB/s), a
#                      rate this machine's replayer keeps up with (at full speed it does not, on
#                      the same two cores: the buffer then grows and the kernel writes it back).
# The replayer's data (replica, undo log) is on tmpfs (/dev/shm): on this one-disk machine it
# stands for the remote site's own disk, so the disk under test carries only what the source
# writes. For each wedge the script also prints the bytes written to WORKDIR's disk per byte the
# host wrote: sectors written (/sys/class/block/DEV/stat) from fio's start until `status
# --wait-synced` returned, before the wedge stops (a clean stop forces what is left). Pages of
# segments deleted before writeback never reach the disk. Other writers of that disk count too.
# Usage: [RATE=150m] bench/write_once.sh [RUNTIME_S=40] [WORKDIR=/tmp/tapline-write-once] [SIZE=12G]
# Needs ~30 GB free in WORKDIR, SIZE + 2 GiB free memory for /dev/shm, root (to drop caches), fio,
# nbdkit, libnbd-bin, Java 17 + Maven.
set -euo pipefail
RT=${1:-40}; W=${2:-/tmp/tapline-write-once}; SIZE=${3:-12G}; RATE=${RATE:-150m}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
PORT=${PORT:-11840}; LINK=${LINK:-11841}
R=/dev/shm/tapline-write-once-remote
rm -rf "$W" "$R"; mkdir -p "$W"
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true
  [ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null || true
  [ -s "$W/nbdkit.pid" ] && kill "$(cat "$W/nbdkit.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$R"
}
trap cleanup EXIT
wait_port() { for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$1/${2:-}" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }
wait_tcp() { for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
mbps() { python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['jobs'][0]['write']['bw_bytes']/1e6))" "$1"; }
host_bytes() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['jobs'][0]['write']['io_bytes'])" "$1"; }
DEV=$(basename "$(findmnt -no SOURCE --target "$W")")
sectors_written() { awk '{print $7}' "/sys/class/block/$DEV/stat"; }
fio_nbd() {
  fio --name="$1" --ioengine=nbd --uri="$2" --rw=write --bs=1M --iodepth=16 --size=$SIZE --runtime="$RT" \
      --time_based ${3:-} --output-format=json --output="$W/$1.json" >/dev/null 2>&1 || { echo "fio failed: $1" >&2; exit 1; }
}
declare -A RESULT PER_BYTE

"$TAPLINE" --version >/dev/null   # builds the CLI if needed, outside the measured part

drop_caches
fio --name=disk --filename="$W/disk.img" --rw=write --bs=1M --iodepth=16 --direct=1 --ioengine=libaio \
    --size=$SIZE --runtime="$RT" --time_based --output-format=json --output="$W/disk.json" >/dev/null 2>&1
RESULT[disk]=$(mbps "$W/disk.json"); rm -f "$W/disk.img"

truncate -s $SIZE "$W/nbdkit.img"; drop_caches
nbdkit -P "$W/nbdkit.pid" --port $PORT -i 127.0.0.1 file "$W/nbdkit.img" cache=none
wait_port $PORT
fio_nbd nbdkit_nocache "nbd://127.0.0.1:$PORT"
kill "$(cat "$W/nbdkit.pid")"; while [ -e "/proc/$(cat "$W/nbdkit.pid")" ]; do sleep 0.1; done; rm -f "$W/nbdkit.pid"
RESULT[nbdkit_nocache]=$(mbps "$W/nbdkit_nocache.json"); rm -f "$W/nbdkit.img"

for t in durable write_once durable_paced write_once_paced; do
  extra=""; case $t in write_once*) extra="--buffer-durability write-once";; esac
  rate=""; case $t in *_paced) rate="--rate=$RATE";; esac
  rm -rf "$W/buffer" "$W/primary.img" "$R"; mkdir -p "$R"; drop_caches
  "$TAPLINE" replay --listen 127.0.0.1:$LINK --data "$R" --undo-max-bytes 1G >"$W/$t.replay.log" 2>&1 & RPID=$!
  wait_tcp $LINK
  "$TAPLINE" wedge --nbd 127.0.0.1:$PORT --export vol1 --volume "$W/primary.img" --size $SIZE \
    --buffer "$W/buffer" --buffer-max 40G --remote 127.0.0.1:$LINK --primary-cache none $extra >"$W/$t.log" 2>&1 & PID=$!
  wait_port $PORT vol1
  before=$(sectors_written)
  fio_nbd "$t" "nbd://127.0.0.1:$PORT/vol1" "$rate"
  "$TAPLINE" status --buffer "$W/buffer" --wait-synced 600 --json > "$W/$t.status.json" || true
  after=$(sectors_written)
  PER_BYTE[$t]=$(python3 -c "import sys; print(f'{(int(sys.argv[2])-int(sys.argv[1]))*512/int(sys.argv[3]):.2f}')" "$before" "$after" "$(host_bytes "$W/$t.json")")
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  kill "$RPID"; wait "$RPID" 2>/dev/null || true; RPID=
  RESULT[$t]=$(mbps "$W/$t.json")
  if ! python3 -c "import json,sys; v=json.load(open(sys.argv[1])); sys.exit(0 if v['synced'] and not v['volumes'][0]['gapRecords'] else 1)" "$W/$t.status.json"; then
    RESULT[$t]="${RESULT[$t]} (INVALID: not synced or the buffer went FULL)"
  fi
  rm -rf "$W/buffer" "$W/primary.img" "$R"
done

for t in disk nbdkit_nocache durable write_once durable_paced write_once_paced; do
  printf '%-15s %s MB/s%s\n' "$t" "${RESULT[$t]}" "${PER_BYTE[$t]:+  (wedge disk bytes per host byte ${PER_BYTE[$t]})}"
done
python3 - "${RESULT[disk]}" "${RESULT[nbdkit_nocache]}" "${RESULT[durable]%% *}" "${RESULT[write_once]%% *}" <<'PY'
import sys
disk, nbdkit, durable, once = map(float, sys.argv[1:])
for name, v in (("durable", durable), ("write_once", once)):
    print(f"{name} / nbdkit cache=none = {v/nbdkit:.2f}x (target >= 1.0x); / disk O_DIRECT = {v/disk:.2f}x "
          f"(target >= 0.4x)")
PY
