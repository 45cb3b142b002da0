#!/usr/bin/env bash
# The replayer's apply path alone (no JVM start-up, network or shipper in the timings):
# ReplicaVolume.apply on pre-packed batches of 4 KiB WRITEs of random bytes, in order (contiguous:
# gathered into large pwrites), first filling the volume, then overwriting it (real before-images, undo log + audit on), against raw pwrite + fdatasync
# of the same amount overwriting a file in the same directory (written once untimed first: into a
# new file the raw write measured 0.9-15 s per GiB on this thin-provisioned disk, not a rate);
# then a rollback of the overwrite, timed inside the JVM. Batches are unpacked on a second thread
# as a session's event loop unpacks them; the CPU of all threads while the clock ran is printed.
# Prints the ratios against the targets (apply >= 0.5x raw, rollback <= 2x raw).
# Groups are pipelined as the replayer's sessions do (group N+1 staged while N's replica fdatasync
# runs); MODE=sequential applies one group at a time (the apply path before pipelining).
# Usage: bench/apply_path.sh [WORKDIR=/tmp/tapline-apply-bench] [MiB=1024] [recordKiB=4] [batchMiB=4] [pipelined|sequential]
#   batch as NNNk for KiB (256k: what a shipper's 2 ms batch fill sends of a busy host's small writes)
# OFFSETS=random writes each pass's records at the volume's slots in a random order (a database's
# pages; rarely two contiguous, so about one pwrite each), and the raw rate the same way (default sequential).
# APPLY_CACHE=cold drops the page cache before the overwrite (before-images read from the disk, as
# on a replica larger than memory); default warm.
# ROLLBACK_CACHE=cold drops the page cache before the rollback (as hours after the writes); default warm.
# UNDO_DIRECT=off writes the undo log through the page cache (the default appends it with O_DIRECT).
# UNDO_MAX_MIB=512 bounds the undo log below the bytes applied, so that retention deletes a segment
# every 64 MiB applied, as in a replayer's steady state (default 65536: retention never runs).
# Profile: TAPLINE_JAVA_OPTS=-XX:StartFlightRecording=filename=/tmp/apply.jfr,settings=profile bench/apply_path.sh
set -euo pipefail
W=${1:-/tmp/tapline-apply-bench}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
(cd "$here" && mvn -q -B -ntp -o -DskipTests package -pl tools -am && mvn -q -B -ntp -o test-compile -pl replay-remote -am) >&2
rm -rf "$W"; mkdir -p "$W"
cp="$here/replay-remote/target/test-classes:$here/replay-remote/target/classes:$here/journey/target/classes"
cp="$cp:$here/transactional-log/target/classes:$here/tools/target/lib/*"
exec java -Xmx3g -Dbench.applyCache="${APPLY_CACHE:-warm}" -Dbench.rollbackCache="${ROLLBACK_CACHE:-warm}" -Dtapline.undo.directAppends="${UNDO_DIRECT:-on}" -Dbench.undoMaxMiB="${UNDO_MAX_MIB:-65536}" -Dbench.offsets="${OFFSETS:-sequential}" -Dlogback.configurationFile="$here/bench/logback-warn.xml" ${TAPLINE_JAVA_OPTS:-} -cp "$cp" io.tapline.replay.ApplyPathBench "$W" "${2:-1024}" "${3:-4}" "${4:-4}" "${5:-pipelined}"
