#!/usr/bin/env bash
# Replication lag (RPO) under a steady writer (issue "disk speed", target P7), one run: a wedge
# and a local replayer on loopback, fio writing through the wedge at RATE (default 50 MB/s, 1 MiB
# sequential writes, iodepth 4) for RUNTIME_S seconds; then the replayer's own histogram
# tapline_replay_lag_seconds (capture on the source -> durable on the replica, per record) gives
# p50/p99 (its last two minutes) and max. Target: p99 <= 100 ms on loopback.
# Usage: bench/rpo.sh [RUNTIME_S=60] [RATE=50m] [BS=1M] [WORKDIR=/tmp/tapline-rpo]
#   env WEDGE_EXTRA: more wedge options ("--primary-cache kernel" for the policy before 2026-12-02, whose
#   writeback bursts stall every sync; the default, paced, meets the target: docs/benchmarks.md#primary-paced-default);
#   TAPLINE_JAVA_OPTS=-Dtapline.replica.beforeImagesWithoutReadahead=false: before-images read with readahead
#   (the old reads, for comparison); TAPLINE_LOG_LEVEL=DEBUG: group timings;
#   REPLICA_FS=1 puts the replayer's data on an ext4 of its own (a loop-mounted image under WORKDIR; root),
#   so that its fdatasyncs do not wait for the source's writes in one shared ext4 journal, as on two machines;
#   SETTLE_S (default 5): the audit-log lines split the records at this many seconds after the first capture
#   (cold start of both processes, then the steady state)
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
"$TAPLINE" replay --listen 127.0.0.1:$LINK --data "$REMOTE_DATA" --http 127.0.0.1:$HTTP >"$W/replay.log" 2>&1 & REPLAY_PID=$!
"$TAPLINE" wedge --nbd 127.0.0.1:$NBD --export vol1 --volume "$W/primary.img" --size 4G \
  --buffer "$W/buffer" --remote 127.0.0.1:$LINK ${WEDGE_EXTRA:-} >"$W/wedge.log" 2>&1 & WEDGE_PID=$!
wait_port $NBD vol1
fio --name=rpo --ioengine=nbd --uri="nbd://127.0.0.1:$NBD/vol1" --rw=write --bs="$BS" --iodepth=4 --size=4G \
    --rate="$RATE" --runtime="$RT" --time_based --output-format=json --output="$W/fio.json" >/dev/null 2>&1
"$TAPLINE" status --buffer "$W/buffer" --wait-synced 600 >/dev/null
curl -s "http://127.0.0.1:$HTTP/metrics" > "$W/metrics.txt"
python3 - "$W/fio.json" "$W/metrics.txt" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))["jobs"][0]["write"]
buckets, scalars = [], {}
for line in open(sys.argv[2]):
    if not line.startswith("tapline_replay_lag_seconds"):
        continue
    name, value = line.rsplit(" ", 1)
    if "_bucket" in name:
        le = name.split('le="')[1].split('"')[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), float(value)))
    else:
        scalars[name.split("{")[0]] = float(value)
buckets.sort()
count = scalars["tapline_replay_lag_seconds_count"]
def quantile(q):
    # As Prometheus' histogram_quantile: linear inside the bucket that holds the q-th record.
    rank, lower, below = q * count, 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * (rank - below) / max(cumulative - below, 1)
        lower, below = upper, cumulative
    return float("nan")
print(f"writer: {w['bw_bytes']/1e6:.1f} MB/s for {w['runtime']/1000:.0f} s")
print(f"replication lag per record (capture -> durable on the replica), from the replayer's histogram: "
      f"p50 {quantile(0.5)*1000:.0f} ms, p99 {quantile(0.99)*1000:.0f} ms, "
      f"mean {scalars['tapline_replay_lag_seconds_sum']/count*1000:.0f} ms, "
      f"max {scalars['tapline_replay_lag_seconds_max']*1000:.0f} ms over {count:.0f} records (target p99 <= 100 ms)")
PY
# The same lag per record from the replica's audit log (capture time -> entry logged once durable,
# millisecond stamps), split at SETTLE_S seconds after the first capture: the wedge and the replayer
# start with the writer, so the first seconds carry both JVMs' cold start (class loading, the first
# volume's files, interpreted code); the rest is the steady state the target describes.
"$TAPLINE" audit export --data "$REMOTE_DATA" --volume vol1 --format csv > "$W/audit.csv"
python3 - "$W/audit.csv" "${SETTLE_S:-5}" <<'PY'
import csv, sys
from datetime import datetime
def when(iso):
    head, _, frac = iso.rstrip("Z").partition(".")
    return datetime.fromisoformat(head).timestamp() + (float("0." + frac) if frac else 0.0)
rows = [(when(r["captured_or_to"]), when(r["logged"])) for r in csv.DictReader(open(sys.argv[1]))
        if r["type"] == "RECORD" and r["kind"] == "WRITE"]
settle, first = float(sys.argv[2]), min(c for c, _ in rows)
def summary(lags):
    lags = sorted(lags)
    if not lags:
        return "no records"
    pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
    return (f"{len(lags)} records, p50 {pick(0.5):.0f} ms, p99 {pick(0.99):.0f} ms, max {lags[-1]:.0f} ms, "
            f"{sum(1 for x in lags if x > 100)} over 100 ms")
cold = [(l - c) * 1000 for c, l in rows if c - first < settle]
steady = [(l - c) * 1000 for c, l in rows if c - first >= settle]
print(f"from the audit log, first {settle:.0f} s (cold start): {summary(cold)}")
print(f"from the audit log, after it (steady state):   {summary(steady)}")
PY
