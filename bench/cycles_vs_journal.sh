#!/usr/bin/env bash
# Cycle mode against journal mode on a shaped line (the issue's benchmark for cycle mode), one run
# each: a hot set (the first 64 MiB of a 256 MiB volume, random 4 KiB writes, iodepth 16, full
# speed) for SECONDS through the wedge, whose --remote is bench/delay_line.py (25 ms each way =
# 50 ms RTT, RATE_MBIT per direction) in front of a local replayer. Per mode:
#   wire bytes   the line's bytes forwarded source -> replayer, until the replica held everything
#   host rate    fio's write IOPS and MB/s (what the host saw)
#   drain        seconds from fio's end until synced (cycle mode: 'tapline cycle now';
#                journal mode: 'tapline status --wait-synced 600')
#   RPO          sampled every 2 s while fio runs: cycles.replicaImageAgeMillis (cycle mode; before
#                the first copied cycle, the time since fio started), oldestUnackedAgeMillis (journal)
# then the replica image must equal what the host reads through NBD (cmp; the bench fails if not).
# Targets: wire bytes cycles/journal <= 0.1, host write rate cycles/journal >= 1.0.
# Usage: bench/cycles_vs_journal.sh [SECONDS=60] [RATE_MBIT=100]
#   env: BENCH_DIR (default /tmp/tapline-bench-cycles), CYCLE (default 5s), DELAY_MS (default 25),
#        FIO_EXTRA (more fio options, e.g. --refill_buffers: fresh random data per write; fio's default
#        reuses a few scrambled buffers, so the hot set's image compresses ~30 % with LZ4 while the
#        same data in write order does not: that favours cycle mode, whose batches are LZ4'd too)
# Needs: fio with the nbd engine, qemu-img, nbdinfo (libnbd-bin), python3, Java 17.
set -euo pipefail
SECS=${1:-60}; RATE=${2:-100}
B=${BENCH_DIR:-/tmp/tapline-bench-cycles}; CYCLE=${CYCLE:-5s}; DELAY=${DELAY_MS:-25}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
LINE="$here/bench/delay_line.py"
PIDS=()
SAMPLER=

stop_all() {
  [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
  local p i
  # Last started first: the wedge, then the line, then the replayer.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    p=${PIDS[i]}; kill "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  PIDS=(); SAMPLER=
}
on_exit() {
  local rc=$?
  stop_all
  [ $rc -ne 0 ] && echo "cycles_vs_journal: FAILED (exit $rc); logs under $B" >&2
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM
die() { echo "cycles_vs_journal: $*" >&2; exit 1; }

# Free loopback ports below the ephemeral range (other test runs on this machine pick 20000-32767).
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
got = []
while len(got) < int(sys.argv[1]):
    p = random.randint(28000, 31999)
    if p in got:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); got.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(*got)
PY
}
wait_listen() { # PORT WHAT PID
  for _ in $(seq 600); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2).close()" 2>/dev/null; then return 0; fi
    kill -0 "$3" 2>/dev/null || die "$2 exited before listening on $1"
    sleep 0.1
  done
  die "$2 never listened on $1"
}

"$TAPLINE" --version >/dev/null
rm -rf "$B"; mkdir -p "$B"
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)" | tee "$B/load.txt"

run_mode() {
  local mode=$1 W="$B/$1"
  mkdir -p "$W"
  local ports; ports=$(free_ports 5); read -r NBD REPLAY LINEP WM RM <<<"$ports"
  echo "== $mode: nbd $NBD, line $LINEP -> replayer $REPLAY"
  "$TAPLINE" replay --listen 127.0.0.1:$REPLAY --data "$W/remote" --metrics 127.0.0.1:$RM >"$W/replay.log" 2>&1 &
  PIDS+=($!); wait_listen $REPLAY replayer $!
  python3 "$LINE" --listen 127.0.0.1:$LINEP --to 127.0.0.1:$REPLAY --delay-ms "$DELAY" --rate-mbit "$RATE" \
    --stats "$W/line.json" >"$W/line.log" 2>&1 &
  PIDS+=($!); local line_pid=$!
  # The line writes its stats file once it listens (a probe connection would reach the replayer).
  for _ in $(seq 100); do [ -s "$W/line.json" ] && break; kill -0 $line_pid 2>/dev/null || die "delay_line exited: $(cat "$W/line.log")"; sleep 0.1; done
  [ -s "$W/line.json" ] || die "delay_line never listened on $LINEP"
  local extra=()
  [ "$mode" = cycles ] && extra=(--mode cycles --cycle "$CYCLE")
  "$TAPLINE" wedge --nbd 127.0.0.1:$NBD --export vol1 --volume "$W/primary.img" --size 256M \
    --buffer "$W/buffer" --remote 127.0.0.1:$LINEP --metrics 127.0.0.1:$WM "${extra[@]}" >"$W/wedge.log" 2>&1 &
  PIDS+=($!); local wedge_pid=$!
  for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$NBD/vol1" >/dev/null 2>&1 && break
    kill -0 "$wedge_pid" 2>/dev/null || die "$mode: the wedge exited at start: $(tail -5 "$W/wedge.log")"; sleep 0.1; done
  nbdinfo --size "nbd://127.0.0.1:$NBD/vol1" >/dev/null 2>&1 || die "$mode: the wedge's NBD port $NBD never answered"
  # The link up and synced (nothing written yet) before the clock starts.
  "$TAPLINE" status --buffer "$W/buffer" --wait-synced 60 >/dev/null || die "$mode: not synced before the run"
  cp "$W/line.json" "$W/line-before.json" 2>/dev/null || true

  local t0; t0=$(date +%s.%N)
  echo "$t0" >"$W/fio-start"
  ( while :; do
      now=$(date +%s.%N)
      if s=$("$TAPLINE" status --buffer "$W/buffer" --volume vol1 --json 2>/dev/null); then
        printf '%s\t%s\n' "$now" "$(printf '%s' "$s" | tr -d '\n')" >>"$W/status.tsv"
      fi
      sleep 2
    done ) &
  SAMPLER=$!
  fio --name=hot --ioengine=nbd --uri="nbd://127.0.0.1:$NBD/vol1" --rw=randwrite --bs=4k --size=64M \
      --iodepth=16 --time_based --runtime="$SECS" ${FIO_EXTRA:-} --output-format=json --output="$W/fio.json" >"$W/fio.log" 2>&1 \
      || die "$mode: fio failed: $(tail -5 "$W/fio.log")"
  local t1; t1=$(date +%s.%N)
  kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=
  cp "$W/line.json" "$W/line-at-fio-end.json"
  kill -0 "$wedge_pid" 2>/dev/null || die "$mode: the wedge died during fio (see $W/wedge.log)"

  if [ "$mode" = cycles ]; then
    "$TAPLINE" cycle now --buffer "$W/buffer" --volume vol1 --json --timeout 600 >"$W/cycle-now.json" 2>"$W/cycle-now.err" \
      || die "$mode: cycle now failed: $(cat "$W/cycle-now.err")"
  else
    "$TAPLINE" status --buffer "$W/buffer" --wait-synced 600 >"$W/wait-synced.out" 2>&1 \
      || die "$mode: not synced within 600 s: $(tail -5 "$W/wait-synced.out")"
  fi
  local t2; t2=$(date +%s.%N)
  "$TAPLINE" status --buffer "$W/buffer" --volume vol1 --json >"$W/status-final.json"
  sleep 1.2 # one more stats tick of the line: its bytes once the replica held everything
  cp "$W/line.json" "$W/line-synced.json"
  echo "$t1 $t2" >"$W/times"

  # What the host reads now must be what the replica holds.
  qemu-img convert -f raw -O raw "nbd://127.0.0.1:$NBD/vol1" "$W/host.img" 2>"$W/qemu-img.log" \
    || die "$mode: qemu-img convert failed: $(cat "$W/qemu-img.log")"
  local replica="$W/remote/vol1/replica.img"
  [ -f "$replica" ] || die "$mode: no replica at $replica"
  local hs rs; hs=$(stat -c %s "$W/host.img"); rs=$(stat -c %s "$replica")
  [ "$hs" = "$rs" ] || die "$mode: MISMATCH: host image $hs bytes, replica $rs bytes"
  if ! cmp "$W/host.img" "$replica" >"$W/cmp.out" 2>&1; then
    echo "!!! $mode: REPLICA DIFFERS FROM THE HOST: $(head -1 "$W/cmp.out")" >&2
    cmp -l "$W/host.img" "$replica" 2>/dev/null | wc -l | sed 's/^/!!! differing bytes: /' >&2
    die "$mode: replica mismatch"
  fi
  echo "$mode: replica == host ($hs bytes)" | tee "$W/verify.txt"
  rm -f "$W/host.img"
  stop_all
  # Exceptions in the logs are reported (the run itself goes on).
  grep -n -i -E 'exception|error|warn' "$W"/replay.log "$W"/wedge.log "$W"/line.log 2>/dev/null | head -20 >"$W/log-findings.txt" || true
  if [ -s "$W/log-findings.txt" ]; then echo "-- $mode: log lines worth a look:"; cat "$W/log-findings.txt"; fi
}

for mode in journal cycles; do run_mode $mode; done
echo "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$B/load.txt"

python3 - "$B" "$SECS" "$RATE" <<'PY' | tee "$B/summary.txt"
import json, statistics, sys
B, secs, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rows = {}
for mode in ("journal", "cycles"):
    W = f"{B}/{mode}"
    line = json.load(open(f"{W}/line-synced.json"))
    before = json.load(open(f"{W}/line-before.json")) if open(f"{W}/line-before.json").read().strip() else {"upBytes": 0, "downBytes": 0}
    at_end = json.load(open(f"{W}/line-at-fio-end.json"))
    w = json.load(open(f"{W}/fio.json"))["jobs"][0]["write"]
    t0 = float(open(f"{W}/fio-start").read())
    t1, t2 = map(float, open(f"{W}/times").read().split())
    rpo = []
    for ln in open(f"{W}/status.tsv") if __import__("os").path.exists(f"{W}/status.tsv") else []:
        ts, doc = ln.rstrip("\n").split("\t", 1)
        vols = json.loads(doc)
        v = vols[0] if isinstance(vols, list) else (vols.get("volumes") or [vols])[0]
        if mode == "cycles":
            age = (v.get("cycles") or {}).get("replicaImageAgeMillis")
            if age is None:
                age = (float(ts) - t0) * 1000  # no cycle copied yet: the replica holds the image at fio's start
        else:
            age = v.get("oldestUnackedAgeMillis") or 0
        rpo.append(age / 1000)
    final = json.load(open(f"{W}/status-final.json"))
    fv = final[0] if isinstance(final, list) else (final.get("volumes") or [final])[0]
    rows[mode] = dict(
        wire=line["upBytes"] - before["upBytes"], wire_fio=at_end["upBytes"] - before["upBytes"],
        back=line["downBytes"] - before["downBytes"],
        iops=w["iops"], mbs=w["bw_bytes"] / 1e6, written=w["io_bytes"],
        drain=t2 - t1, rpo_max=max(rpo) if rpo else float("nan"),
        rpo_p50=statistics.median(rpo) if rpo else float("nan"), n=len(rpo),
        resync=(fv.get("resync") or {}).get("bytesSent"), cyc=(fv.get("cycles") or {}).get("lastCopiedCycle"))
MB = 1e6
import os
print(f"\nfio extra options: {os.environ.get('FIO_EXTRA') or '(none)'}")
print(f"hot set: 64 MiB of a 256 MiB volume, randwrite 4k QD16 for {secs} s; line {rate:g} Mbit/s, 50 ms RTT")
hdr = f"{'mode':8} {'host IOPS':>10} {'host MB/s':>10} {'host MB written':>16} {'wire MB total':>14} {'wire MB in fio':>15} {'wire MB back':>13} {'drain s':>8} {'RPO p50 s':>10} {'RPO max s':>10} {'samples':>8}"
print(hdr); print("-" * len(hdr))
for m, r in rows.items():
    print(f"{m:8} {r['iops']:10.0f} {r['mbs']:10.1f} {r['written']/MB:16.1f} {r['wire']/MB:14.1f} {r['wire_fio']/MB:15.1f} {r['back']/MB:13.2f} {r['drain']:8.1f} {r['rpo_p50']:10.1f} {r['rpo_max']:10.1f} {r['n']:8d}")
j, c = rows["journal"], rows["cycles"]
print(f"\nwire bytes cycles/journal: {c['wire']/j['wire']:.4f}  (target <= 0.1)")
print(f"host write rate cycles/journal: {c['iops']/j['iops']:.2f}x  (target >= 1.0)")
print(f"wire bytes per host byte written: journal {j['wire']/j['written']:.3f}, cycles {c['wire']/c['written']:.4f}")
print(f"line capacity over the fio run: {rate*1e6/8*secs/MB:.0f} MB; journal used {j['wire_fio']/(rate*1e6/8*secs):.0%} of it while fio ran")
print(f"cycles: last copied cycle {c['cyc']}, resync.bytesSent (final status) {c['resync']}; journal resync.bytesSent {j['resync']}")
PY
