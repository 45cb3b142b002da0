#!/usr/bin/env bash
# Replication lag (RPO) under a steady writer (issue "disk speed", target P7), one run: a wedge
# and a local replayer on loopback, fio writing through the wedge at RATE (default 50 MB/s, 1 MiB
# sequential writes, iodepth 4) for RUNTIME_S seconds; then the replayer's own histogram
# tapline_replay_lag_seconds (capture on the source -> durable on the replica, per record) gives
# p50/p99 (its last two minutes) and max. Target: p99 <= 100 ms on loopback.
# Usage: bench/rpo.sh [RUNTIME_S=60] [RATE=50m] [BS=1M] [WORKDIR=/tmp/tapline-rpo]
#   BS=4k: the same rate in 4 KiB writes (12,800 records/s, a database's pages), where each record's
#   wait for its batch to leave counts (docs/benchmarks.md#batch-fill); RW=randwrite (default write)
#   for random offsets
#   env WEDGE_EXTRA: more wedge options ("--primary-cache kernel" for the policy before 2026-12-02, whose
#   writeback bursts stall every sync; the default, paced, meets the target: docs/benchmarks.md#primary-paced-default);
#   TAPLINE_JAVA_OPTS=-Dtapline.replica.beforeImagesWithoutReadahead=false: before-images read with readahead
#   (the old reads, for comparison); TAPLINE_LOG_LEVEL=DEBUG: group timings;
#   REPLICA_FS=1 puts the replayer's data on an ext4 of its own (a loop-mounted image under WORKDIR; root),
#   so that its fdatasyncs do not wait for the source's writes in one shared ext4 journal, as on two machines;
#   SETTLE_S (default 5): the histogram is also split at this many seconds into the writer's run (the
#   records made durable before: both processes' cold start; after: the steady state);
#   LINE=DELAY_MS:RATE_MBIT puts the project's shaped line (bench/delay_line.py: DELAY_MS each way,
#   RATE_MBIT per direction) between the wedge and the replayer; the target is then 100 ms + one
#   round trip (issue 14's P7 on its 50 ms line: LINE=25:1000; a 50 MB/s writer needs >= 400 Mbit/s);
#   SEEDED=1 first writes the whole 4 GiB volume through the wedge and the replayer (sequential 1 MiB,
#   not measured), waits until synced and restarts both (cold JVMs again): the regime of a volume in
#   service, whose replica every block of was written by its first copy, instead of an empty sparse
#   one whose random writes each allocate a block on both sides; DROP_CACHES=1 with it also drops
#   the page cache before the restart (before-images then come from the disk; root)
# Needs: fio, libnbd-bin, curl, Java 17 + Maven (the CLI builds itself on first use).
set -euo pipefail
RT=${1:-60}; RATE=${2:-50m}; BS=${3:-1M}; W=${4:-/tmp/tapline-rpo}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
NBD=${NBD_PORT:-11840}; LINK=${LINK_PORT:-17140}; HTTP=${HTTP_PORT:-17141}
mountpoint -q "$W/replica-fs" 2>/dev/null && umount "$W/replica-fs"
rm -rf "$W"; mkdir -p "$W"
cleanup() {
  [ -n "${WEDGE_PID:-}" ] && kill "$WEDGE_PID" 2>/dev/null || true
  [ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null || true
  [ -n "${LINE_PID:-}" ] && kill "$LINE_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  if mountpoint -q "$W/replica-fs" 2>/dev/null; then umount "$W/replica-fs"; fi
  rm -f "$W/replica-fs.ext4"
}
trap cleanup EXIT
REMOTE_DATA="$W/remote"
if [ "${REPLICA_FS:-0}" = 1 ]; then
  truncate -s 10G "$W/replica-fs.ext4"; mkfs.ext4 -q -F "$W/replica-fs.ext4"
  mkdir -p "$W/replica-fs"; mount -o loop "$W/replica-fs.ext4" "$W/replica-fs"
  REMOTE_DATA="$W/replica-fs/remote"
fi
wait_port() { for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$1/${2:-}" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }

"$TAPLINE" --version >/dev/null
start_replayer() {
  "$TAPLINE" replay --listen 127.0.0.1:$LINK --data "$REMOTE_DATA" --http 127.0.0.1:$HTTP >>"$W/replay.log" 2>&1 & REPLAY_PID=$!
}
start_wedge() {
  "$TAPLINE" wedge --nbd 127.0.0.1:$NBD --export vol1 --volume "$W/primary.img" --size 4G \
    --buffer "$W/buffer" --remote 127.0.0.1:$REMOTE_PORT ${WEDGE_EXTRA:-} >>"$W/wedge.log" 2>&1 & WEDGE_PID=$!
  wait_port $NBD vol1
}
# The writer starts once the link is up (a replica in service), so the lag is the pipeline's, not
# the first connection's (that one is the replayer's "session open" -> "welcomed" in its DEBUG log).
linked() { grep -Eq '"connected" *: *true' "$W/buffer/vol1/link-status.json" 2>/dev/null; }
await_link() {
  for _ in $(seq 300); do linked && break; sleep 0.1; done
  linked || { echo "the link never came up (wedge.log, replay.log in $W)" >&2; exit 1; }
}
stop() { kill "$1" 2>/dev/null || true; for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  echo "process $1 did not stop within 30 s" >&2; exit 1; }
start_replayer
TARGET_MS=100; REMOTE_PORT=$LINK
if [ -n "${LINE:-}" ]; then
  DELAY_MS=${LINE%%:*}; RATE_MBIT=${LINE##*:}; REMOTE_PORT=${LINE_PORT:-17142}
  python3 "$here/bench/delay_line.py" --listen 127.0.0.1:$REMOTE_PORT --to 127.0.0.1:$LINK \
    --delay-ms "$DELAY_MS" --rate-mbit "$RATE_MBIT" --stats "$W/line.json" >"$W/line.log" 2>&1 & LINE_PID=$!
  TARGET_MS=$((100 + 2 * DELAY_MS))
  echo "line: ${DELAY_MS} ms each way (RTT $((2 * DELAY_MS)) ms), ${RATE_MBIT} Mbit/s per direction"
fi
start_wedge
await_link
if [ "${SEEDED:-0}" = 1 ]; then
  t0=$(date +%s)
  fio --name=seed --ioengine=nbd --uri="nbd://127.0.0.1:$NBD/vol1" --rw=write --bs=1M --iodepth=16 --size=4G \
      >/dev/null 2>&1 || { echo "seeding the volume failed" >&2; exit 1; }
  "$TAPLINE" status --buffer "$W/buffer" --wait-synced 900 >/dev/null
  stop "$WEDGE_PID"; stop "$REPLAY_PID"; rm -f "$W/buffer/vol1/link-status.json"
  sync
  [ "${DROP_CACHES:-0}" = 1 ] && echo 3 > /proc/sys/vm/drop_caches
  echo "seeded: 4 GiB written through the wedge and replicated in $(( $(date +%s) - t0 )) s; both restarted" \
       "$([ "${DROP_CACHES:-0}" = 1 ] && echo "after dropping the page cache")"
  start_replayer; start_wedge; await_link
fi
# The replayer's histogram once SETTLE_S seconds into the writer's run, and again at the end: its
# buckets are cumulative counters, so their difference is the lag of the records made durable
# after the first SETTLE_S seconds (the steady state), and the first scrape is the cold start (fio
# starts as soon as the link is up, so its first seconds meet two cold JVMs).
SETTLE=${SETTLE_S:-5}
(sleep "$SETTLE"; curl -s "http://127.0.0.1:$HTTP/metrics" > "$W/metrics-settle.txt") & SCRAPE_PID=$!
fio --name=rpo --ioengine=nbd --uri="nbd://127.0.0.1:$NBD/vol1" --rw="${RW:-write}" --bs="$BS" --iodepth=4 --size=4G \
    --rate="$RATE" --runtime="$RT" --time_based --output-format=json --output="$W/fio.json" >/dev/null 2>&1
wait "$SCRAPE_PID"
"$TAPLINE" status --buffer "$W/buffer" --wait-synced 600 >/dev/null
curl -s "http://127.0.0.1:$HTTP/metrics" > "$W/metrics.txt"
python3 - "$W/fio.json" "$W/metrics.txt" "$W/metrics-settle.txt" "$SETTLE" "$TARGET_MS" <<'PY'
import json, sys
INF = float("inf")

def histogram(path):
    """The lag histogram's cumulative buckets [(upper bound s, count)] and its sum, count and max."""
    buckets, scalars = [], {}
    for line in open(path):
        if not line.startswith("tapline_replay_lag_seconds"):
            continue
        name, value = line.rsplit(" ", 1)
        if "_bucket" in name:
            le = name.split('le="')[1].split('"')[0]
            buckets.append((INF if le == "+Inf" else float(le), float(value)))
        else:
            scalars[name.split("{")[0]] = float(value)
    return sorted(buckets), scalars

def quantile(buckets, q):
    # As Prometheus' histogram_quantile: linear inside the bucket that holds the q-th record.
    count = buckets[-1][1] if buckets else 0
    rank, lower, below = q * count, 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank:
            return lower if upper == INF else lower + (upper - lower) * (rank - below) / max(cumulative - below, 1)
        lower, below = upper, cumulative
    return float("nan")

def over(buckets, seconds):
    """Records above the first bucket bound at or past seconds (the buckets' resolution), and that bound."""
    bound, at = next((u, c) for u, c in buckets if u >= seconds)
    return buckets[-1][1] - at, bound

def highest(buckets):
    """Upper bound of the first bucket that holds every record: the max, to the buckets' resolution."""
    return next(u for u, c in buckets if c >= buckets[-1][1])

def line(label, b):
    n = b[-1][1] if b else 0
    if not n:
        return f"{label}: no records"
    slow, bound = over(b, target_s)
    return (f"{label}: {n:.0f} records, p50 {quantile(b, 0.5)*1000:.0f} ms, p99 {quantile(b, 0.99)*1000:.0f} ms, "
            f"max under {highest(b)*1000:.0f} ms, {slow:.0f} over {bound*1000:.0f} ms")

w = json.load(open(sys.argv[1]))["jobs"][0]["write"]
end, scalars = histogram(sys.argv[2])
settle, _ = histogram(sys.argv[3])
if not settle:  # nothing durable yet at the settle point: the timer was not even registered
    settle = [(u, 0.0) for u, _ in end]
settle_s = float(sys.argv[4])
target_s = float(sys.argv[5]) / 1000
count = scalars["tapline_replay_lag_seconds_count"]
print(f"writer: {w['bw_bytes']/1e6:.1f} MB/s for {w['runtime']/1000:.0f} s")
pct, clat = w["clat_ns"].get("percentile", {}), w["clat_ns"]
print(f"writer's completion latency (the host's view, fio clat): p50 {pct.get('50.000000', 0)/1e6:.1f} ms, "
      f"p99 {pct.get('99.000000', 0)/1e6:.1f} ms, p99.9 {pct.get('99.900000', 0)/1e6:.1f} ms, max {clat['max']/1e6:.1f} ms")
print(f"replication lag per record (capture -> durable on the replica), from the replayer's histogram: "
      f"p50 {quantile(end, 0.5)*1000:.0f} ms, p99 {quantile(end, 0.99)*1000:.0f} ms, "
      f"mean {scalars['tapline_replay_lag_seconds_sum']/count*1000:.0f} ms, "
      f"max {scalars['tapline_replay_lag_seconds_max']*1000:.0f} ms over {count:.0f} records (target p99 <= {target_s*1000:.0f} ms)")
if len(settle) != len(end) or any(s[0] != e[0] or s[1] > e[1] for s, e in zip(settle, end)):
    print("the two scrapes' buckets do not line up (no scrape at the settle point?): no split")
else:
    steady = [(u, e - s) for (u, s), (_, e) in zip(settle, end)]
    print(line(f"  durable in the first {settle_s:g} s of the writer (cold start)", settle))
    print(line(f"  durable after them (steady state)", steady))
PY
