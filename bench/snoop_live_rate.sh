#!/bin/bash
# snoop_live_rate.sh - live capture rate on lo: tgtd (defaults) on 127.0.0.1, `tapline snoop
# --interface lo` capturing into a buffer (capture only), and qemu-img convert writing N MiB of
# random data through libiscsi as fast as it can. Prints the write rate the host achieved and
# whether the agent kept up: drops become GAP records, so gapRecords must be 0 and the capture
# must hold every byte (the buffer's volume image is rebuilt by nothing here: the count of
# captured bytes is compared instead).
# Needs root (live capture, tgtd). Usage: bench/snoop_live_rate.sh [MiB list="256 1024"] [workdir=/tmp/snooplive]
# SNOOP_EXTRA="..." adds options to the snoop, e.g. SNOOP_EXTRA="--write-pcap /tmp/snooplive/ring" to
# measure the evidence ring (its totals, framesWritten / framesLeftOut, are printed after each run).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
SIZES=${1:-"256 1024"}; W=${2:-/tmp/snooplive}; PORT=${PORT:-3263}; IQN=iqn.2024-01.bench:live
TAPLINE="$here/tapline"; TGT=; SNOOP=
mkdir -p "$W"; cd "$W"
stop_all() {
  [ -n "$SNOOP" ] && { kill "$SNOOP" 2>/dev/null || true; wait "$SNOOP" 2>/dev/null || true; SNOOP=; }
  tgtadm -C $PORT --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1 || true
  tgtadm -C $PORT --op delete --mode system >/dev/null 2>&1 || true
  if [ -n "$TGT" ]; then for i in $(seq 30); do kill -0 $TGT 2>/dev/null || break; sleep 0.1; done
    kill -9 $TGT 2>/dev/null || true; wait $TGT 2>/dev/null || true; TGT=; fi
}
trap stop_all EXIT
"$TAPLINE" --version >/dev/null
printf '%-8s %-14s %-12s %-6s %-8s %s\n' MiB "no-snoop MB/s" "host MB/s" gaps records "captured bytes"
for MIB in $SIZES; do
  rm -rf buffer lun.img; truncate -s "$((MIB + 16))M" lun.img
  head -c "${MIB}M" /dev/urandom > src.bin
  tgtd -f --iscsi portal=127.0.0.1:$PORT --control-port $PORT >tgtd.log 2>&1 & TGT=$!
  for i in $(seq 50); do tgtadm -C $PORT --lld iscsi --op show --mode sys >/dev/null 2>&1 && break; sleep 0.1; done
  tgtadm -C $PORT --lld iscsi --op new --mode target --tid 1 -T $IQN
  tgtadm -C $PORT --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$W/lun.img"
  tgtadm -C $PORT --lld iscsi --op bind --mode target --tid 1 -I ALL
  # Baseline: the same write with nobody listening.
  s=$(date +%s.%N); qemu-img convert -n -f raw -O raw src.bin "iscsi://127.0.0.1:$PORT/$IQN/1"; e=$(date +%s.%N)
  base=$(echo "scale=0; $MIB * 1048576 / 1000000 / ($e - $s)" | bc)
  "$TAPLINE" snoop --interface lo --filter "tcp port $PORT" --iscsi-port $PORT --buffer "$W/buffer" \
    --buffer-max 16G --capture-buffer 256M ${SNOOP_EXTRA:-} >snoop.log 2>&1 & SNOOP=$!
  for i in $(seq 300); do grep -q "capturing on" snoop.log && break; sleep 0.1; done
  s=$(date +%s.%N)
  qemu-img convert -n -f raw -O raw src.bin "iscsi://127.0.0.1:$PORT/$IQN/1"
  e=$(date +%s.%N)
  sleep 2   # let the agent drain its capture buffer and sync (records are durable within 200 ms)
  "$TAPLINE" status --buffer "$W/buffer" --json > status.json 2>/dev/null || true
  kill "$SNOOP"; wait "$SNOOP" 2>/dev/null || true; SNOOP=
  grep -o 'evidence ring closed.*' snoop.log || true
  rate=$(echo "scale=0; $MIB * 1048576 / 1000000 / ($e - $s)" | bc)
  python3 - "$MIB" "$rate" "$base" <<'PY'
import json, sys, glob, os, struct
mib, rate, base = sys.argv[1], sys.argv[2], sys.argv[3]
st = json.load(open("status.json"))
gaps = sum(v["gapRecords"] for v in st["volumes"])
writes = sum(v["captured"] for v in st["volumes"])
size = sum(os.path.getsize(f) for f in glob.glob("buffer/*/*.seg"))
print(f"{mib:<8} {base:<14} {rate:<12} {gaps:<6} {writes:<8} {size} (segment bytes; >= {int(mib) << 20} expected)")
PY
  stop_all
done
rm -f src.bin lun.img
