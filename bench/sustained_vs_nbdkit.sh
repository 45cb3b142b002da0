#!/usr/bin/env bash
# Sustained sequential writes that leave the page cache (issue "disk speed", target P3 sustained),
# one run, side by side: fio sequential 1 MiB writes, iodepth 16, for RUNTIME_S seconds on a
# 14 GiB sparse volume, page cache dropped before each target, against
#   - disk:            fio O_DIRECT (libaio) on a plain file in WORKDIR: the disk's write rate,
#   - nbdkit:          nbdkit's file plugin, defaults,
#   - nbdkit_nocache:  nbdkit file cache=none (drops written pages: its fastest sustained setting),
#   - nbdkit_seq:      nbdkit file fadvise=sequential,
#   - caponly:         the Tapline wedge capturing into its buffer, no remote (every byte written
#                      twice: primary + buffer, large records with O_DIRECT), its defaults (the
#                      primary's writeback paced, --primary-cache paced, since 2026-12-02),
#   - caponly_kernel:  the same with --primary-cache kernel (writeback left to the kernel: the
#                      default before 2026-12-02),
#   - caponly_nocache: the same with --primary-cache none (the primary's writes leave the cache as
#                      nbdkit cache=none does: Tapline at nbdkit's best setting),
#   - caponly_paged:   the wedge with the buffer's O_DIRECT appends off (before direct appends).
# Prints MB/s of each and the ratios caponly / best nbdkit (target >= 1.0x) and caponly / disk
# (target >= 0.4x; 0.5x is the two-copy limit). A wedge run whose buffer went FULL (GAP records or
# lost writes in its status) is marked invalid: uncaptured writes would flatter it.
# Usage: bench/sustained_vs_nbdkit.sh [RUNTIME_S=40] [WORKDIR=/tmp/tapline-sustained]
# Needs ~45 GB free in WORKDIR, root (to drop caches), fio, nbdkit, libnbd-bin, Java 17 + Maven.
set -euo pipefail
RT=${1:-40}; W=${2:-/tmp/tapline-sustained}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
PORT=${PORT:-11830}
SIZE=14G
rm -rf "$W"; mkdir -p "$W"
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null || true
  [ -s "$W/nbdkit.pid" ] && kill "$(cat "$W/nbdkit.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
wait_port() { for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$1/${2:-}" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
mbps() { python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['jobs'][0]['write']['bw_bytes']/1e6))" "$1"; }
fio_nbd() {
  fio --name="$1" --ioengine=nbd --uri="$2" --rw=write --bs=1M --iodepth=16 --size=$SIZE --runtime="$RT" \
      --time_based --output-format=json --output="$W/$1.json" >/dev/null 2>&1 || { echo "fio failed: $1" >&2; exit 1; }
}
declare -A RESULT

"$TAPLINE" --version >/dev/null   # builds the CLI if needed, outside the measured part

drop_caches
fio --name=disk --filename="$W/disk.img" --rw=write --bs=1M --iodepth=16 --direct=1 --ioengine=libaio \
    --size=$SIZE --runtime="$RT" --time_based --output-format=json --output="$W/disk.json" >/dev/null 2>&1
RESULT[disk]=$(mbps "$W/disk.json"); rm -f "$W/disk.img"

for t in nbdkit nbdkit_nocache nbdkit_seq; do
  case $t in nbdkit) opt="";; nbdkit_nocache) opt="cache=none";; nbdkit_seq) opt="fadvise=sequential";; esac
  truncate -s $SIZE "$W/nbdkit.img"; drop_caches
  nbdkit -P "$W/nbdkit.pid" --port $PORT -i 127.0.0.1 file "$W/nbdkit.img" $opt
  wait_port $PORT
  fio_nbd "$t" "nbd://127.0.0.1:$PORT"
  kill "$(cat "$W/nbdkit.pid")"; while [ -e "/proc/$(cat "$W/nbdkit.pid")" ]; do sleep 0.1; done; rm -f "$W/nbdkit.pid"
  RESULT[$t]=$(mbps "$W/$t.json"); rm -f "$W/nbdkit.img"
done

for t in caponly caponly_kernel caponly_nocache caponly_paged; do
  opts=""; [ $t = caponly_paged ] && opts="-Dtapline.buffer.directAppendMinBytes=off"
  extra=""; [ $t = caponly_nocache ] && extra="--primary-cache none"; [ $t = caponly_kernel ] && extra="--primary-cache kernel"
  rm -rf "$W/buffer" "$W/primary.img"; drop_caches
  TAPLINE_JAVA_OPTS="$opts" "$TAPLINE" wedge --nbd 127.0.0.1:$PORT --export vol1 --volume "$W/primary.img" \
    --size $SIZE --buffer "$W/buffer" --buffer-max 40G $extra >"$W/$t.log" 2>&1 & PID=$!
  wait_port $PORT vol1
  fio_nbd "$t" "nbd://127.0.0.1:$PORT/vol1"
  "$TAPLINE" status --buffer "$W/buffer" --json > "$W/$t.status.json" || true
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  RESULT[$t]=$(mbps "$W/$t.json")
  if ! python3 -c "import json,sys; v=json.load(open(sys.argv[1]))['volumes'][0]; sys.exit(1 if v['gapRecords'] or v['lostWrites'] else 0)" "$W/$t.status.json"; then
    RESULT[$t]="${RESULT[$t]} (INVALID: buffer went FULL)"
  fi
  rm -rf "$W/buffer" "$W/primary.img"
done

for t in disk nbdkit nbdkit_nocache nbdkit_seq caponly caponly_kernel caponly_nocache caponly_paged; do printf '%-15s %s MB/s\n' "$t" "${RESULT[$t]}"; done
python3 - "${RESULT[disk]}" "${RESULT[nbdkit]}" "${RESULT[nbdkit_nocache]}" "${RESULT[nbdkit_seq]}" \
  "${RESULT[caponly]%% *}" "${RESULT[caponly_kernel]%% *}" "${RESULT[caponly_nocache]%% *}" "${RESULT[caponly_paged]%% *}" <<'PY'
import sys
disk, n1, n2, n3, cap, kernel, nocache, paged = map(float, sys.argv[1:])
best = max(n1, n2, n3)
for name, v in (("caponly", cap), ("caponly_kernel", kernel), ("caponly_nocache", nocache), ("caponly_paged", paged)):
    print(f"{name} / best nbdkit = {v/best:.2f}x (target >= 1.0x); / disk O_DIRECT = {v/disk:.2f}x "
          f"(target >= 0.4x, two-copy limit 0.5x)")
PY
