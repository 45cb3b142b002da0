package io.tapline.replay;

import io.tapline.journey.control.ReplicaStateReport;

/**
 * A snapshot of one replicated volume, for {@code tapline status}, metrics and the source.
 *
 * @param volumeId            the volume
 * @param lastAppliedSequence every record up to this one is applied and durable
 * @param outOfSync           the replica is not a consistent image (a GAP, a hole, a resync in progress)
 * @param bytesApplied        bytes written or zeroed on the replica since the replayer started
 * @param sessionConnected    whether a source is connected for this volume now
 * @param state               consistent, out-of-sync, resyncing, paused or failed (see {@link ReplicaStateReport})
 * @param consistentSequence  newest sequence at which the replica was consistent
 * @param reason              why it is not consistent; empty when it is
 */
public record VolumeStatus(String volumeId, long lastAppliedSequence, boolean outOfSync, long bytesApplied,
        boolean sessionConnected, String state, long consistentSequence, String reason) {

    /** The state name of a paused volume (after a rollback, until resumed). */
    public static final String PAUSED = "paused";

    /** The status of a volume in {@code sync}; a non-null {@code pausedOrFailed} reason overrides the state. */
    static VolumeStatus of(String volumeId, long lastApplied, SyncState sync, String failedReason, long bytesApplied,
            boolean connected) {
        String state;
        String reason;
        if (failedReason != null) {
            state = ReplicaStateReport.FAILED;
            reason = failedReason;
        } else if (sync.resyncing()) {
            state = ReplicaStateReport.RESYNCING;
            reason = "resync " + Long.toHexString(sync.resyncId()) + " in progress (inconsistent until it ends)";
        } else if (sync.outOfSync() && sync.consistentSequence() == 0) {
            state = ReplicaStateReport.OUT_OF_SYNC;
            reason = sync.exactFrom() > lastApplied
                    ? "holds data written outside the log (served read-write while promoted, an adopted image, an"
                    + " image changed while the replayer did not hold it, or a history that diverged from its"
                    + " source's)"
                    + " at seq " + lastApplied + ": no consistent point; a whole-volume resync heals it"
                    : "no consistent point known at seq " + lastApplied + " (rolled back to before its last"
                    + " consistent run, written outside the log earlier, or from before an upgrade from a build of"
                    + " 2026-12-05 or older, which kept no consistent runs); a whole-volume resync heals it";
        } else if (sync.outOfSync()) {
            state = ReplicaStateReport.OUT_OF_SYNC;
            reason = "missing data since seq " + sync.firstGapSequence() + " (a capture gap, a hole, or a difference a verify found); "
                    + "consistent at seq " + sync.consistentSequence() + "; a resync heals it";
        } else {
            state = ReplicaStateReport.CONSISTENT;
            reason = "";
        }
        return new VolumeStatus(volumeId, lastApplied, !sync.consistent() || failedReason != null, bytesApplied,
                connected, state, sync.consistentSequence(), reason);
    }

    /** The same status, failed for {@code why} (a running replayer's failed volume, read from its files). */
    VolumeStatus failed(String why) {
        return new VolumeStatus(volumeId, lastAppliedSequence, true, bytesApplied, sessionConnected,
                ReplicaStateReport.FAILED, consistentSequence, why);
    }

    /** The same status, paused for {@code why}. */
    VolumeStatus paused(String why) {
        return new VolumeStatus(volumeId, lastAppliedSequence, true, bytesApplied, sessionConnected, PAUSED,
                consistentSequence, why);
    }

    /**
     * The same status for an image another program changed while no replayer held it (read from
     * the files): out of sync, whatever its state file says, until a replayer opens it and a resync
     * compares it whole.
     */
    VolumeStatus changedOutside(String why) {
        return new VolumeStatus(volumeId, lastAppliedSequence, true, bytesApplied, sessionConnected,
                ReplicaStateReport.OUT_OF_SYNC, consistentSequence, "replica image " + why
                        + " while no replayer held it: out of sync; the replayer's next open takes it as written"
                        + " outside the log and a whole-volume resync heals it");
    }

    /**
     * The same status for a replica served read-write while it was a promoted primary here, now a
     * secondary again (fenced, demoted or resolved) that no replayer opened since: out of sync with
     * no consistent point, whatever its state file says (the opening marks it so, durably).
     * {@code generation} is the one it rejoined: the role file keeps no record of the generation
     * it served as (probe X D4: it read as if it had served as the newer primary's).
     */
    VolumeStatus servedReadWrite(long generation) {
        return new VolumeStatus(volumeId, lastAppliedSequence, true, bytesApplied, sessionConnected,
                ReplicaStateReport.OUT_OF_SYNC, 0, "holds data written outside the log (served read-write while it was"
                        + " primary, before it rejoined generation " + generation + ") at seq " + lastAppliedSequence + ": no consistent point;"
                        + " a whole-volume resync heals it");
    }

    /**
     * The same status for a replica whose replayer stopped (a crash, kill -9, a power cut) while it
     * applied the records after {@code lastAppliedSequence} up to {@code newestUndone}: the image may
     * hold part of them, a state the source's volume was never in. Out of sync, read from the files,
     * until a replayer opens it and undoes them from their before-images.
     */
    VolumeStatus interrupted(long newestUndone) {
        return new VolumeStatus(volumeId, lastAppliedSequence, true, bytesApplied, sessionConnected,
                ReplicaStateReport.OUT_OF_SYNC, consistentSequence, "the replayer stopped while it applied seq "
                        + (lastAppliedSequence + 1) + ".." + newestUndone + ": the image may hold part of them;"
                        + " the replayer's next start undoes them (back to seq " + lastAppliedSequence + ")");
    }

    /** The report a source receives. */
    public ReplicaStateReport toReport(long resyncId) {
        return new ReplicaStateReport(state, lastAppliedSequence, consistentSequence, resyncId, reason);
    }
}
