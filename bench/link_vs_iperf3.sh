#!/usr/bin/env bash
# The journey link over a shaped line against iperf3 over the same line (issue "Wedge and replayer at
# disk speed", target P5), one run each. The line is bench/delay_line.py: DELAY_MS each way (RTT twice
# that), RATE_MBIT per direction, a queue of a bandwidth-delay product plus 100 ms.
#   iperf3     one TCP stream through the line for IPERF_S seconds: the line's capacity as TCP sees it
#   random     MIB of random data (no codec can shrink it) written through the wedge while the line is
#              down (captured into the buffer), then the line comes up: record MB/s from the line's
#              start to synced, and its ratio to iperf3 (target >= 0.95)
#   text       the same with MIB of text (man pages and documentation of this machine, then the
#              repository's own sources): effective MB/s (record bytes, before compression) / iperf3
#              (target >= 3), and the compression the shipper chose
#   cut        a random drain cut by stopping the line for CUT_S seconds (connections reset, new
#              ones refused): seconds from the line's return to the shipper's "link up"
# The replica must equal the wedge's volume after each drain (cmp), or the bench fails.
# Usage: bench/link_vs_iperf3.sh [DELAY_MS=25] [RATE_MBIT=200] [MIB=256]
#   env: BENCH_DIR (default /tmp/tapline-bench-link), IPERF_S (default 15), CUT_S (default 30; 0 skips),
#        SKIP_RANDOM=1 (text and cut only); TAPLINE_LOG_LEVEL=DEBUG logs the window and each group applied
# Needs: iperf3 (installed with apt-get when missing, as root), qemu-img, python3, Java 17.
set -euo pipefail
DELAY=${1:-25}; RATE=${2:-200}; MIB=${3:-256}
B=${BENCH_DIR:-/tmp/tapline-bench-link}; IPERF_S=${IPERF_S:-15}; CUT_S=${CUT_S:-30}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
TAPLINE="$here/tapline"
LINE_PY="$here/bench/delay_line.py"
PIDS=()
LINE_PID=

stop_all() {
  local p
  [ -n "$LINE_PID" ] && kill "$LINE_PID" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}" $LINE_PID; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  PIDS=(); LINE_PID=
}
on_exit() {
  local rc=$?
  stop_all
  [ $rc -ne 0 ] && echo "link_vs_iperf3: FAILED (exit $rc); logs under $B" >&2
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM
die() { echo "link_vs_iperf3: $*" >&2; exit 1; }

command -v iperf3 >/dev/null || { apt-get install -y -qq iperf3 >/dev/null || die "iperf3 missing (apt-get install iperf3)"; }
command -v qemu-img >/dev/null || die "qemu-img missing (apt-get install qemu-utils qemu-block-extra)"
[ -f "$here/tools/target/tapline-tools.jar" ] || die "build first: mvn -q -DskipTests package"

read -r P_LINE P_REPLAY P_NBD P_IPERF P_IPLINE < <(python3 - <<'PY'
import random, socket
got = []
while len(got) < 5:
    p = random.randint(28000, 31999)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); got.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(*got)
PY
)

rm -rf "$B"; mkdir -p "$B"
now() { date +%s.%N; }
# Starts the line in front of $1 (port) listening on $2; remembers its pid in LINE_PID.
line_up() {
  rm -f "$B/line-$2.json"
  python3 "$LINE_PY" --listen "127.0.0.1:$2" --to "127.0.0.1:$1" --delay-ms "$DELAY" --rate-mbit "$RATE" \
    --stats "$B/line-$2.json" >>"$B/line.log" 2>&1 &
  LINE_PID=$!
  # Ready once it wrote its first stats (it listens before that); a probe connection would reach the peer.
  for _ in $(seq 200); do [ -s "$B/line-$2.json" ] && return 0; sleep 0.05; done
  die "the line on port $2 did not come up"
}
line_down() {
  [ -n "$LINE_PID" ] || return 0
  kill "$LINE_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$LINE_PID" 2>/dev/null || break; sleep 0.05; done
  LINE_PID=
}
# Milliseconds since the epoch of the first log line after $2 (epoch seconds) matching $3 in file $1.
log_time_after() {
  python3 - "$1" "$2" "$3" <<'PY'
import re, sys, datetime
path, after, pattern = sys.argv[1], float(sys.argv[2]), sys.argv[3]
day = datetime.datetime.fromtimestamp(after, datetime.timezone.utc).date()
for line in open(path, errors="replace"):
    m = re.match(r"(\d\d):(\d\d):(\d\d)\.(\d\d\d) ", line)
    if not m or pattern not in line:
        continue
    t = datetime.datetime(day.year, day.month, day.day, int(m[1]), int(m[2]), int(m[3]), int(m[4]) * 1000,
                          tzinfo=datetime.timezone.utc).timestamp()
    if t >= after:
        print(f"{t:.3f}"); break
PY
}

# --- iperf3 through the line --------------------------------------------------------------------
iperf3 -s -B 127.0.0.1 -p "$P_IPERF" >"$B/iperf3-server.log" 2>&1 & PIDS+=($!)
sleep 0.5
line_up "$P_IPERF" "$P_IPLINE"
iperf3 -c 127.0.0.1 -p "$P_IPLINE" -t "$IPERF_S" -J >"$B/iperf3.json" || die "iperf3 failed: $(tail -3 "$B/iperf3.json")"
line_down
kill "${PIDS[-1]}" 2>/dev/null || true
IPERF_MBIT=$(python3 -c "import json; print(round(json.load(open('$B/iperf3.json'))['end']['sum_received']['bits_per_second']/1e6, 1))")
echo "line: ${DELAY} ms each way (RTT $((2 * DELAY)) ms), ${RATE} Mbit/s; iperf3: ${IPERF_MBIT} Mbit/s"

# --- data ------------------------------------------------------------------------------------------
head -c "$((MIB << 20))" /dev/urandom >"$B/random.bin"
corpus() {
  find /usr/share/man -name '*.gz' 2>/dev/null | sort | xargs -r zcat 2>/dev/null || true
  find /usr/share/doc -name '*.gz' 2>/dev/null | sort | xargs -r zcat 2>/dev/null || true
  find "$here" -path '*/target' -prune -o \( -name '*.java' -o -name '*.md' \) -print | sort | xargs cat
}
# The corpus again and again up to MIB (a batch is at most 4 MiB, so a repeat never falls inside one
# batch's compression window unless the corpus is smaller than that).
corpus 2>/dev/null | head -c "$((MIB << 20))" >"$B/text.once" || true
[ -s "$B/text.once" ] || die "no text found on this machine"
while [ "$(stat -c %s "$B/text.bin" 2>/dev/null || echo 0)" -lt "$((MIB << 20))" ]; do cat "$B/text.once" >>"$B/text.bin"; done
truncate -s "$((MIB << 20))" "$B/text.bin"; rm -f "$B/text.once"

# --- Tapline: replayer behind the line, the wedge in front of it ----------------------------------
"$TAPLINE" replay --listen "127.0.0.1:$P_REPLAY" --data "$B/remote" >"$B/replay.log" 2>&1 & PIDS+=($!)
"$TAPLINE" wedge --nbd "127.0.0.1:$P_NBD" --export vol1 --volume "$B/vol1.img" --size "$((MIB + 16))M" \
  --buffer "$B/buffer" --remote "127.0.0.1:$P_LINE" >"$B/wedge.log" 2>&1 & PIDS+=($!)
for _ in $(seq 300); do qemu-img info "nbd://127.0.0.1:$P_NBD/vol1" >/dev/null 2>&1 && break; sleep 0.1; done

# Writes $1 into the volume with the line down, then times the drain from the line's start to synced.
drain() {
  local file=$1 cut=${2:-0} t0 t1 tret tup
  qemu-img convert -n -f raw -O raw "$file" "nbd://127.0.0.1:$P_NBD/vol1"
  # The waiter starts (JVM and all) before the line does, so its start-up is not timed.
  "$TAPLINE" status --buffer "$B/buffer" --wait-synced 3600 >"$B/waiter.log" 2>&1 & local waiter=$!
  sleep 2
  t0=$(now)
  line_up "$P_REPLAY" "$P_LINE"
  if [ "$cut" -gt 0 ]; then
    sleep 5
    line_down
    sleep "$cut"
    tret=$(now)
    line_up "$P_REPLAY" "$P_LINE"
  fi
  wait "$waiter" || die "not synced: $(tail -5 "$B/wedge.log")"
  t1=$(now)
  line_down
  cmp "$B/vol1.img" "$B/remote/vol1/replica.img" >/dev/null \
    || die "replica differs from the volume after the $(basename "$file") drain"
  if [ "$cut" -gt 0 ]; then
    tup=$(log_time_after "$B/wedge.log" "$tret" "link up")
    [ -n "$tup" ] || die "no 'link up' after the line returned"
    python3 -c "print(f'cut: line down {$cut} s during a drain; link up {($tup - $tret) * 1000:.0f} ms after the line returned (RTT $((2 * DELAY)) ms)')"
  else
    python3 - "$(stat -c %s "$file")" "$t0" "$t1" "$IPERF_MBIT" "$(basename "$file" .bin)" <<'PY'
import sys
size, t0, t1, iperf, name = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
mbit = size * 8 / (t1 - t0) / 1e6
print(f"{name:6} {size / 2**20:.0f} MiB in {t1 - t0:.1f} s: {mbit:.1f} Mbit/s of records = {mbit / iperf:.2f}x iperf3")
PY
  fi
}
[ "${SKIP_RANDOM:-0}" = 1 ] || drain "$B/random.bin"
drain "$B/text.bin"
grep -o "link compression.*" "$B/wedge.log" | tail -3 | sed 's/^/  /' || true
[ "$CUT_S" -gt 0 ] && drain "$B/random.bin" "$CUT_S"
exit 0
