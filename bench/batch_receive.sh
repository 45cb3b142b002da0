#!/usr/bin/env bash
# The replayer's receiving side alone (journey module, no network, no files): BATCH frames of
# 4 MiB fed to the JourneyDecoder in 64 KiB direct buffers, as an event loop reads them, each frame
# beginning a read (aligned) and as one stream read across frames (stream); prints the CPU per GiB
# of the decoding thread and of the process (median of the warm rounds) for each.
# With BASE=/path/to/another/checkout, runs that checkout's decoder first, with this bench
# (interleaved pairs); docs/benchmarks.md#decoder-room.
# Usage: bench/batch_receive.sh [PAIRS=3] [ROUNDS=12]
# Needs: Java 17 + Maven (builds the journey module and its test classes).
set -euo pipefail
PAIRS=${1:-3}; ROUNDS=${2:-12}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
(cd "$here" && mvn -q -B -ntp -o -DskipTests package -pl tools -am && mvn -q -B -ntp -o test-compile -pl journey) >&2
if [ -n "${BASE:-}" ]; then
  (cd "$BASE" && mvn -q -B -ntp -o -DskipTests compile -pl journey -am) >&2
fi
run() {  # LABEL MAIN_CLASSES
  local cp="$here/journey/target/test-classes:$2/journey/target/classes:$here/transactional-log/target/classes"
  cp="$cp:$here/tools/target/lib/*"
  printf '%-5s ' "$1"
  java -Xmx2g -cp "$cp" io.tapline.journey.BatchReceiveBench "$ROUNDS" aligned | tail -1
  printf '%-5s ' "$1"
  java -Xmx2g -cp "$cp" io.tapline.journey.BatchReceiveBench "$ROUNDS" stream | tail -1
}
for _ in $(seq "$PAIRS"); do
  [ -n "${BASE:-}" ] && run base "$BASE"
  run this "$here"
done
