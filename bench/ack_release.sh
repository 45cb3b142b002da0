#!/usr/bin/env bash
# How long the host's writes wait while one acknowledgement frees a capture buffer's segments
# (AckReleaseBench: 1 GiB of 64 MiB segments freed at once, as after a catch-up, while a writer
# appends 4 KiB records). Prints the acknowledgement's time and the longest append meanwhile.
# ROUNDS runs, each in a fresh WORKDIR (on the file system under test: ext4 mounted with discard
# is where deletions are dear). docs/benchmarks.md#retired-buffer-segments.
# Usage: bench/ack_release.sh [ROUNDS=3] [WORKDIR=/tmp/tapline-ack-bench] [MiB=1024]   Needs: Java 17 + Maven.
set -euo pipefail
ROUNDS=${1:-3}
W=${2:-/tmp/tapline-ack-bench}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
(cd "$here" && mvn -q -B -ntp -o -DskipTests package -pl tools -am && mvn -q -B -ntp -o test-compile -pl transactional-log) >&2
trap 'rm -rf "$W"' EXIT
cp="$here/transactional-log/target/test-classes:$here/transactional-log/target/classes:$here/tools/target/lib/*"
for _ in $(seq "$ROUNDS"); do
  rm -rf "$W"; mkdir -p "$W"
  java -Dlogback.configurationFile="$here/bench/logback-warn.xml" -cp "$cp" io.tapline.log.buffer.AckReleaseBench "$W" "${3:-1024}"
done
