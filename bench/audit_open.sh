#!/usr/bin/env bash
# What a replayer's start costs per volume as the volume's audit log grows: AuditLog.open (each volume
# a replayer opens) and AuditVerifier.verify (`tapline audit verify`) timed on a log of N entries shaped
# as the replayer's WRITE entries (~170 bytes each), three rounds, page cache warm.
# Usage: [KEEP=1] bench/audit_open.sh [WORKDIR=/tmp/tapline-audit-bench] [ENTRIES=2000000]
set -euo pipefail
W=${1:-/tmp/tapline-audit-bench}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
(cd "$here" && mvn -q -B -ntp -o -DskipTests package -pl tools -am && mvn -q -B -ntp -o test-compile -pl transactional-log) >&2
rm -rf "$W"; mkdir -p "$W"
cp="$here/transactional-log/target/test-classes:$here/transactional-log/target/classes:$here/tools/target/lib/*"
java -Xmx1g -Dlogback.configurationFile="$here/bench/logback-warn.xml" ${TAPLINE_JAVA_OPTS:-} -cp "$cp" \
  io.tapline.log.audit.AuditOpenBench "$W" "${2:-2000000}"
[ "${KEEP:-0}" = 1 ] || rm -rf "$W"  # KEEP=1 leaves the log for the CLI lines of docs/benchmarks.md#audit-checkpoint
