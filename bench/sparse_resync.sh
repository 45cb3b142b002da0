#!/usr/bin/env bash
# resync --full of a large sparse volume that holds 1 MiB: how long the comparison of its holes takes.
# A replayer and a wedge on loopback, 1 MiB written by qemu-io, synced, then `tapline resync --full`
# timed; prints the seconds and the chunks compared. CMP=1 also compares primary and replica (reads
# the whole sparse size: slow past a few hundred GiB).
# Usage: bench/sparse_resync.sh [SIZE=1T] [WORKDIR=/tmp/tapline-sparse-resync]
# TAPLINE_HOME=DIR runs another build's ./tapline (a `git worktree` of the "before").
# Needs: qemu-utils, libnbd-bin, Java 17 + Maven.
set -euo pipefail
SIZE=${1:-1T}; W=${2:-/tmp/tapline-sparse-resync}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
T="${TAPLINE_HOME:-$here}/tapline"
LINK=${LINK_PORT:-11931}; NBD=${NBD_PORT:-11932}
rm -rf "$W"; mkdir -p "$W"
cleanup() { kill ${WP:-} ${RP:-} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
"$T" --version >/dev/null
"$T" replay --listen 127.0.0.1:$LINK --data "$W/remote" >"$W/replay.log" 2>&1 & RP=$!
"$T" wedge --nbd 127.0.0.1:$NBD --export vol1 --volume "$W/p.img" --size "$SIZE" --buffer "$W/buf" \
  --remote 127.0.0.1:$LINK >"$W/wedge.log" 2>&1 & WP=$!
for _ in $(seq 300); do nbdinfo --size "nbd://127.0.0.1:$NBD/vol1" >/dev/null 2>&1 && break; sleep 0.2; done
qemu-io -f raw -c 'write -P 0x5a 100M 1M' "nbd://127.0.0.1:$NBD/vol1" >/dev/null
"$T" status --buffer "$W/buf" --wait-synced 120 >/dev/null
start=$(date +%s.%N)
"$T" resync --buffer "$W/buf" --volume vol1 --full --json >"$W/resync.json"
end=$(date +%s.%N)
chunks=$(grep -o '"chunksCompared" *: *[0-9]*' "$W/resync.json" | head -1 | grep -o '[0-9]*$')
echo "resync --full of a $SIZE volume holding 1 MiB: $(python3 -c "print(f'{$end - $start:.1f}')") s, $chunks chunks compared"
if [ "${CMP:-0}" = 1 ]; then
  kill $WP $RP; wait 2>/dev/null || true; WP=; RP=
  cmp "$W/p.img" "$W/remote/vol1/replica.img" && echo "primary = replica"
fi
