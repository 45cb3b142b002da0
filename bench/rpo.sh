#!/usr/bin/env bash
# Replication lag (RPO) under a steady writer (issue "disk speed", target P7), one run: a wedge
# and a local replayer on loopback, fio writing through the wedge at RATE (default 50 MB/s, 1 MiB
# sequential writes, iodepth 4) for RUNTIME_S seconds; then the replayer's own histogram
# tapline_replay_lag_seconds (capture on the source -> durable on the replica, per record) gives
# p50/p99 (its last two minutes) and max. Target: p99 <= 100 ms on loopback.
# Usage: bench/rpo.sh [RUNTIME_S=60] [RATE=50m] [BS=1M] [WORKDIR=/tmp/tapline-rpo]
# Needs: fio, libnbd-bin, curl, Java 17 + Maven (the CLI builds itself on first use).
set -euo pipefail
RT=${1:-60}; RATE=${2:-50m}; BS=${3:-1M}; W=${4:-/tmp/tapline-rpo}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
NBD=${NBD_PORT:-11840}; LINK=${LINK_PORT:-17140}; HTTP=${HTTP_PORT:-17141}
rm -rf "$W"; mkdir -p "$W"
cleanup() {
  [ -n "${WEDGE_PID:-}" ] && kill "$WEDGE_PID" 2>/dev/null || true
  [ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
wait_port() { for _ in $(seq 600); do nbdinfo --size "nbd://127.0.0.1:$1/${2:-}" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 never answered" >&2; exit 1; }

"$TAPLINE" --version >/dev/null
"$TAPLINE" replay --listen 127.0.0.1:$LINK --data "$W/remote" --http 127.0.0.1:$HTTP >"$W/replay.log" 2>&1 & REPLAY_PID=$!
"$TAPLINE" wedge --nbd 127.0.0.1:$NBD --export vol1 --volume "$W/primary.img" --size 4G \
  --buffer "$W/buffer" --remote 127.0.0.1:$LINK >"$W/wedge.log" 2>&1 & WEDGE_PID=$!
wait_port $NBD vol1
fio --name=rpo --ioengine=nbd --uri="nbd://127.0.0.1:$NBD/vol1" --rw=write --bs="$BS" --iodepth=4 --size=4G \
    --rate="$RATE" --runtime="$RT" --time_based --output-format=json --output="$W/fio.json" >/dev/null 2>&1
"$TAPLINE" status --buffer "$W/buffer" --wait-synced 600 >/dev/null
curl -s "http://127.0.0.1:$HTTP/metrics" > "$W/metrics.txt"
python3 - "$W/fio.json" "$W/metrics.txt" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))["jobs"][0]["write"]
m = {}
for line in open(sys.argv[2]):
    if line.startswith("tapline_replay_lag_seconds"):
        name, value = line.rsplit(" ", 1)
        m[name] = float(value)
def get(prefix):
    return next((v for k, v in m.items() if k.startswith(prefix)), float("nan"))
p50 = next((v for k, v in m.items() if 'quantile="0.5"' in k), float("nan"))
p99 = next((v for k, v in m.items() if 'quantile="0.99"' in k), float("nan"))
print(f"writer: {w['bw_bytes']/1e6:.1f} MB/s for {w['runtime']/1000:.0f} s")
print(f"replication lag per record: p50 {p50*1000:.0f} ms, p99 {p99*1000:.0f} ms (last 2 min), "
      f"max {get('tapline_replay_lag_seconds_max')*1000:.0f} ms over {get('tapline_replay_lag_seconds_count'):.0f} records "
      f"(target p99 <= 100 ms)")
PY
