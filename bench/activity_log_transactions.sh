#!/usr/bin/env bash
# What one activity-log transaction costs as the volume grows (issue 14; ActivityLogBench): random
# writes past a hot set of 1024 extents of 4 MiB, each a transaction (admit one, evict one), on
# volumes of 12 GiB to 64 TiB (bitmaps of 384 B to 2 MiB), with transactions writing only the 4 KiB
# pages that changed (now) and with every slot written whole (-Dtapline.activityLog.wholeSlots=true,
# before), alternated. Prints mean and p99 of a transaction (write + fdatasync) and pages per
# transaction. The file lives in WORKDIR: put it on the file system the wedge's buffer uses.
# Usage: bench/activity_log_transactions.sh [WORKDIR=/tmp/tapline-al-bench] [transactions=1000]
# Needs: Java 17 + Maven.
set -euo pipefail
W=${1:-/tmp/tapline-al-bench}; N=${2:-1000}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
(cd "$here" && mvn -q -B -ntp -o -DskipTests package -pl tools -am && mvn -q -B -ntp -o test-compile -pl transactional-log) >&2
trap 'rm -rf "$W"' EXIT
cp="$here/transactional-log/target/test-classes:$here/transactional-log/target/classes:$here/tools/target/lib/*"
for gib in 12 1024 16384 65536; do
  for whole in false true; do
    rm -rf "$W"; mkdir -p "$W"
    java -Dtapline.activityLog.wholeSlots=$whole -Dlogback.configurationFile="$here/bench/logback-warn.xml" \
      -cp "$cp" io.tapline.log.buffer.ActivityLogBench "$W" "$gib" "$N"
  done
done
