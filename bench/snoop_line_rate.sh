#!/bin/bash
# snoop_line_rate.sh - the passive tap at line rate, side by side with tcpdump, in one run.
# tgtd on 127.0.0.1 with the fast session (MaxRecvDataSegmentLength=262144, InitialR2T=No,
# HeaderDigest=CRC32C; TUNED=0 keeps tgtd's defaults), one libiscsi writer (qemu-img convert of
# N MiB of random data, header-digest=crc32c) as fast as it goes, three times:
#   1. alone;  2. under `tcpdump -i lo -s 0 -B 262144 -w FILE`;  3. under `tapline snoop --interface lo`
#   (capture only; REMOTE=1 adds a replayer on this machine and waits until the replica is synced).
# The snoop run writes twice: the first pass warms the JVM up (reported apart), the second is the one
# compared (a tap runs for days). Prints the writer's MB/s of each, the kernel drops of tcpdump and of the snoop, the snoop's GAP
# records and captured bytes, with REMOTE=1 whether the replica equals the LUN; then the offline decode
# of tcpdump's file: `tapline snoop --pcap` against `tshark -Y iscsi` (wall, JVM start included).
# Needs root. Usage: bench/snoop_line_rate.sh [MiB=400] [workdir=/tmp/snoopline]
# SNOOP_EXTRA="..." adds snoop options; SNOOP_JAVA_OPTS its JVM's (e.g. a JFR recording);
# SNOOP_WRAP="perf record -a -g -o FILE --" wraps the writer of the snoop run (a system-wide profile of it); SKIP_OFFLINE=1 skips the offline decode.
# WARM_PASSES=N writes N warm passes under the snoop (default 1) and compares the last: the decoder's hot
# code is still compiled by C2 during the first warm pass of 400 MiB (1,600 commands of 256 KiB).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
MIB=${1:-400}; W=${2:-/tmp/snoopline}; PORT=${PORT:-3264}; IQN=iqn.2024-01.bench:line; RPORT=${RPORT:-17311}
TAPLINE="$here/tapline"; TGT=; PIDS=()
mkdir -p "$W"; cd "$W"; rm -rf buffer remote ./*.pcap
stop_all() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; PIDS=()
  tgtadm -C $PORT --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1 || true
  tgtadm -C $PORT --op delete --mode system >/dev/null 2>&1 || true
  if [ -n "$TGT" ]; then for i in $(seq 30); do kill -0 $TGT 2>/dev/null || break; sleep 0.1; done
    kill -9 $TGT 2>/dev/null || true; wait $TGT 2>/dev/null || true; TGT=; fi
}
trap stop_all EXIT
"$TAPLINE" --version >/dev/null
truncate -s "$((MIB + 16))M" lun.img
head -c "${MIB}M" /dev/urandom > src.bin
tgtd -f --iscsi portal=127.0.0.1:$PORT --control-port $PORT >tgtd.log 2>&1 & TGT=$!
for i in $(seq 50); do tgtadm -C $PORT --lld iscsi --op show --mode sys >/dev/null 2>&1 && break; sleep 0.1; done
tgtadm -C $PORT --lld iscsi --op new --mode target --tid 1 -T $IQN
tgtadm -C $PORT --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$W/lun.img"
tgtadm -C $PORT --lld iscsi --op bind --mode target --tid 1 -I ALL
digest=none
if [ "${TUNED:-1}" = 1 ]; then
  for kv in MaxRecvDataSegmentLength=262144 InitialR2T=No HeaderDigest=CRC32C; do
    tgtadm -C $PORT --lld iscsi --op update --mode target --tid 1 -n "${kv%%=*}" -v "${kv#*=}"; done
  digest=crc32c
fi
target="driver=iscsi,transport=tcp,portal=127.0.0.1:$PORT,target=$IQN,lun=1,header-digest=$digest"
cpu() { # user and system CPU seconds of process $1 so far: "user sys"
  awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f %.2f", $14 / t, $15 / t }' "/proc/$1/stat"; }
delta() { python3 -c "import sys; a=sys.argv[1].split(); b=sys.argv[2].split(); print(f'user {float(b[0])-float(a[0]):.2f} s, system {float(b[1])-float(a[1]):.2f} s')" "$1" "$2"; }
settled() { # until the snoop decoded everything it was passed (and, with REMOTE=1, the replica is synced)
  if [ "${REMOTE:-0}" = 1 ]; then
    "$TAPLINE" status --buffer "$W/buffer" --wait-synced 120 --json > status.json 2>/dev/null || true
    return
  fi
  # Capture only: never "synced" (no copy anywhere); the live capture's own "caughtUp" is the wait.
  for _ in $(seq 240); do
    "$TAPLINE" status --buffer "$W/buffer" --json > status.json 2>/dev/null || true
    python3 -c "import json,sys; sys.exit(0 if json.load(open('status.json')).get('capture',{}).get('caughtUp') else 1)" \
      2>/dev/null && return
    sleep 0.5
  done
}
write() { # prints MB/s of one full-speed write of src.bin
  local s e; sync; echo 1 > /proc/sys/vm/drop_caches
  s=$(date +%s.%N); ${WRAP:-} qemu-img convert -n -f raw --target-image-opts src.bin "$target"; e=$(date +%s.%N)
  echo "scale=0; $MIB * 1048576 / 1000000 / ($e - $s)" | bc
}
alone=$(write)
tcpdump -i lo -s 0 -B 262144 -w tcpdump.pcap "tcp port $PORT" 2>tcpdump.log & TD=$!; PIDS+=($TD)
for i in $(seq 50); do grep -q "listening on" tcpdump.log && break; sleep 0.1; done
c0=$(cpu $TD); under_tcpdump=$(write); sleep 1; td_cpu=$(delta "$c0" "$(cpu $TD)")
kill -INT $TD; wait $TD || true; PIDS=()
td_drops=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' tcpdump.log)
remote=()
if [ "${REMOTE:-0}" = 1 ]; then
  "$TAPLINE" replay --listen 127.0.0.1:$RPORT --data "$W/remote" >replay.log 2>&1 & PIDS+=($!)
  remote=(--remote 127.0.0.1:$RPORT --volume-size "$((MIB + 16))M")
fi
TAPLINE_JAVA_OPTS="${SNOOP_JAVA_OPTS:-${TAPLINE_JAVA_OPTS:-}}" "$TAPLINE" snoop --interface lo --filter "tcp port $PORT" --iscsi-port $PORT --blank-targets --buffer "$W/buffer" \
  --buffer-max 16G "${remote[@]}" ${SNOOP_EXTRA:-} >snoop.log 2>&1 & SNOOP=$!; PIDS+=($SNOOP)
for i in $(seq 300); do grep -q "capturing on" snoop.log && break; sleep 0.1; done
c0=$(cpu $SNOOP); under_snoop_cold=$(write)
settled
c1=$(cpu $SNOOP); sn_cold_cpu=$(delta "$c0" "$c1")
warm_passes=()
for pass in $(seq "${WARM_PASSES:-1}"); do
  c1=$(cpu $SNOOP)
  under_snoop=$(WRAP=${SNOOP_WRAP:-} write)
  settled
  sn_cpu=$(delta "$c1" "$(cpu $SNOOP)"); warm_passes+=("$under_snoop")
done
[ "${#warm_passes[@]}" -gt 1 ] && echo "writer under snoop, every warm pass: ${warm_passes[*]} MB/s (the last is compared)" >&2
echo "snoop:   $(grep -o 'capture dropped packets.*' snoop.log | tail -1)" >&2
kill $SNOOP; wait $SNOOP 2>/dev/null || true
same=n/a
if [ "${REMOTE:-0}" = 1 ]; then
  rep=$(ls "$W"/remote/*/replica.img | head -1)
  cmp -n "$((MIB * 1048576))" "$rep" lun.img >/dev/null && same=identical || same=DIFFERENT
fi
python3 - "$alone" "$under_tcpdump" "$under_snoop" "${td_drops:-?}" "$same" "$MIB" "$td_cpu" "$sn_cpu" \
  "$under_snoop_cold" "$sn_cold_cpu" <<'PY'
import json, sys
alone, td, sn, tdd, same, mib, tdcpu, sncpu, sncold, sncoldcpu = sys.argv[1:]
st = json.load(open("status.json"))
gaps = sum(v["gapRecords"] for v in st["volumes"])
cap = sum(v.get("captured", 0) for v in st["volumes"])
cs = st.get("capture", {})
print(f"writer alone:          {alone} MB/s")
print(f"writer under tcpdump:  {td} MB/s   kernel drops {tdd}   tcpdump CPU {tdcpu}")
print(f"writer under snoop, first pass (JVM warming up): {sncold} MB/s   snoop CPU {sncoldcpu} (until caught up)")
print(f"writer under snoop:    {sn} MB/s   kernel drops {cs.get('drops', '?')}   GAP records {gaps}   "
      f"synced {st.get('synced')}   replica {same}   snoop CPU {sncpu} (until caught up)")
print(f"snoop / tcpdump writer rate: {int(sn) / max(1, int(td)):.2f}   (drops and GAPs: both passes)")
PY
stop_all
if [ "${SKIP_OFFLINE:-0}" != 1 ]; then
  PCAP="$W/tcpdump.pcap" RUNS=${RUNS:-3} "$here/bench/snoop_vs_tshark.sh" 0 "$W/offline" | tail -4
fi
rm -f src.bin lun.img tcpdump.pcap
