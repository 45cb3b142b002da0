#!/bin/bash
# snoop_vs_tshark.sh - builds an iSCSI capture of >= 500 MB (tgtd defaults: 8 KiB Data-Out PDUs;
# qemu-img convert through libiscsi) and times `tapline snoop --pcap` against
# `tshark -r FILE -Y iscsi -T fields -e iscsi.opcode` on the same file. Prints MB/s and the ratio.
# Needs root (tcpdump on lo, tgtd). Usage: bench/snoop_vs_tshark.sh [MiB=560] [workdir=/tmp/snoopbench]
# KEEP=1 keeps big.pcap in the work dir and reuses it on the next run (for profiling).
# PCAP=FILE times an existing capture instead (nothing is built, FILE is never removed).
# RUNS=N (default 3): each command runs N times (hyperfine when installed, else a loop); medians are
# reported, for the snoop also the import's own time (the summary's "seconds", JVM start excluded).
# FILTER='tcp port 3261' adds --filter to the snoop (its cost: compare with a run without).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
MIB=${1:-560}; W=${2:-/tmp/snoopbench}; PORT=${PORT:-3261}; IQN=iqn.2024-01.bench:snoop
mkdir -p "$W"; cd "$W"; rm -rf buffer; TGT=; RUNS=${RUNS:-3}
if [ -n "${PCAP:-}" ]; then KEEP=1; PCAP=$(readlink -f "$PCAP"); echo "using $PCAP"
elif [ "${KEEP:-0}" = 1 ] && [ -s big.pcap ]; then echo "reusing $W/big.pcap"; PCAP=$W/big.pcap; else
truncate -s "$((MIB + 16))M" lun.img
tgtd -f --iscsi portal=127.0.0.1:$PORT --control-port $PORT >tgtd.log 2>&1 & TGT=$!
# tgtd ignores SIGTERM: remove the target, ask it to exit, then SIGKILL our own pid if it stays
trap 'tgtadm -C $PORT --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1 || true
      tgtadm -C $PORT --op delete --mode system >/dev/null 2>&1 || true
      if [ -n "$TGT" ]; then for i in $(seq 30); do kill -0 $TGT 2>/dev/null || break; sleep 0.1; done
        kill -9 $TGT 2>/dev/null || true; fi' EXIT
for i in $(seq 50); do tgtadm -C $PORT --lld iscsi --op show --mode sys >/dev/null 2>&1 && break; sleep 0.1; done
tgtadm -C $PORT --lld iscsi --op new --mode target --tid 1 -T $IQN
tgtadm -C $PORT --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$W/lun.img"
tgtadm -C $PORT --lld iscsi --op bind --mode target --tid 1 -I ALL
head -c "${MIB}M" /dev/urandom > src.bin
tcpdump -i lo -s 0 -B 262144 -w big.pcap "tcp port $PORT" 2>tcpdump.log & TD=$!; sleep 1
qemu-img convert -n -f raw -O raw src.bin "iscsi://127.0.0.1:$PORT/$IQN/1"
sleep 1; kill $TD; wait $TD || true; grep -E 'captured|dropped' tcpdump.log
PCAP=$W/big.pcap
fi
SZ=$(stat -c %s "$PCAP"); echo "pcap: $((SZ / 1000000)) MB"
"$here/tapline" --version >/dev/null
snoop="rm -rf '$W/buffer'; '$here/tapline' snoop --pcap '$PCAP' --buffer '$W/buffer' ${FILTER:+--filter '$FILTER'} --json > '$W/summary.json' 2>/dev/null"
tshark="tshark -r '$PCAP' -Y iscsi -T fields -e iscsi.opcode > /dev/null 2>&1"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
imports=()
if command -v hyperfine >/dev/null; then
  hyperfine -N --runs "$RUNS" --export-json "$W/hyperfine.json" --prepare "rm -rf '$W/buffer'" \
    "bash -c \"$snoop\"" "bash -c \"$tshark\"" >&2
  ts=$(jq -r '.results[0].median' "$W/hyperfine.json"); tt=$(jq -r '.results[1].median' "$W/hyperfine.json")
  for i in $(seq "$RUNS"); do bash -c "$snoop"; imports+=("$(jq -r .seconds "$W/summary.json")"); done
else
  t() { local s e; s=$(date +%s.%N); bash -c "$1"; e=$(date +%s.%N); echo "$e - $s" | bc; }
  sn=(); tn=()
  for i in $(seq "$RUNS"); do sn+=("$(t "$snoop")"); imports+=("$(jq -r .seconds "$W/summary.json")"); tn+=("$(t "$tshark")"); done
  ts=$(printf '%s\n' "${sn[@]}" | median); tt=$(printf '%s\n' "${tn[@]}" | median)
fi
ti=$(printf '%s\n' "${imports[@]}" | median)
grep -E '"packets"|"writes"|"writeBytes"|"gaps"' "$W/summary.json"
echo "runs: $RUNS each, medians"
echo "tapline snoop --pcap: $ts s  ($(echo "scale=1; $SZ/1000000/$ts" | bc) MB/s, JVM start included)"
echo "  its import alone:   $ti s  ($(echo "scale=1; $SZ/1000000/$ti" | bc) MB/s, summary \"seconds\": read, decode, buffer writes, final fsync)"
echo "tshark -Y iscsi:      $tt s  ($(echo "scale=1; $SZ/1000000/$tt" | bc) MB/s)"
echo "ratio (tshark time / snoop time): $(echo "scale=1; $tt/$ts" | bc)  (import alone: $(echo "scale=1; $tt/$ti" | bc))"
rm -rf src.bin buffer lun.img summary.json hyperfine.json
[ "${KEEP:-0}" = 1 ] || rm -f big.pcap
