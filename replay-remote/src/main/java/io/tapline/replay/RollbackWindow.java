package io.tapline.replay;

import io.tapline.log.undo.MarkIndex;
import io.tapline.log.undo.UndoLog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The rollback window of a volume as its files say, read without changing anything (for
 * {@code tapline window}, from any process).
 *
 * @param volumeId                the volume
 * @param appliedSequence         durable last applied sequence
 * @param oldestReachableSequence oldest sequence a rollback or image can reach: the undo log's oldest, or
 *                                {@code exactFrom} when the replica was written outside the log later
 * @param oldestTimeNanos         capture time of the first record above it (0 if the log is empty)
 * @param undoBytes               bytes the undo log takes
 * @param undoSegments            undo segment files
 * @param undoDiskBytes           bytes the undo directory takes ({@code undoBytes}, plus up to a segment
 *                                kept for reuse and a reused segment's older records)
 * @param pausedReason            why sources are refused, or null
 * @param rollbackInProgress      a rollback.intent is present
 * @param marks                   every mark held (those below the window are unreachable)
 * @param replicaState            consistent, out-of-sync or resyncing, as of the durable applied state, or
 *                                {@link #ROLLING_BACK} while a rollback.intent is present
 * @param consistentSequence      newest sequence at which the replica was consistent
 *                                ({@code rollback --to-last-consistent})
 * @param exactFromSequence       0, or the sequence after which the replica was last written outside the
 *                                log, plus one: older points cannot be rebuilt (see {@code tapline audit})
 * @param consistentRuns          the stretches of the window where a rollback leaves the replica consistent
 *                                (known runs, oldest first, cut to the window)
 */
public record RollbackWindow(String volumeId, long appliedSequence, long oldestReachableSequence,
        long oldestTimeNanos, long undoBytes, int undoSegments, long undoDiskBytes, String pausedReason, boolean rollbackInProgress,
        List<MarkIndex.Mark> marks, String replicaState, long consistentSequence, long exactFromSequence,
        List<Run> consistentRuns) {

    /** A stretch of sequences {@code from..to} at each of which the replica was consistent. */
    public record Run(long from, long to) {
    }

    /** @throws RefusedException when there is no such volume */
    /**
     * {@link #replicaState} while a rollback runs or was interrupted: the replica holds a mix of the
     * applied sequence and the target until it completes, neither consistent.
     */
    public static final String ROLLING_BACK = "rolling-back";

    public static RollbackWindow read(Path dataDir, String volumeId) throws IOException, RefusedException {
        Path dir = dataDir.resolve(volumeId);
        if (VolumeMeta.read(dir) == null) {
            throw new RefusedException("no volume " + volumeId + " in " + dataDir);
        }
        AppliedState.Durable d = AppliedState.peekDurable(dir);
        long applied = d == null ? 0 : d.lastApplied();
        SyncState sync = d == null ? SyncState.consistentAt(0) : d.sync(); // no file yet: a new replica
        VolumeStatus st = VolumeStatus.of(volumeId, applied, sync, null, 0, false);
        long exactFrom = sync.exactFrom();
        try (UndoLog undo = UndoLog.openReadOnly(dir.resolve("undo"))) {
            UndoLog.Window w = undo.window();
            st = ReplicaVolume.seenFromFiles(st, dir,
                    ReplayServer.runningReplayer(dataDir) != io.tapline.log.ExclusiveLock.NOBODY,
                    () -> w.empty() ? 0 : w.newestSequence()); // as status --data says it
            ControlFiles paused = ControlFiles.read(dir, ControlFiles.PAUSED);
            // an undo log that ends below the applied sequence lost its newest records: nothing below is exact
            long oldest = w.empty() || w.newestSequence() < applied ? applied : w.oldestReachableSequence();
            boolean floored = exactFrom > oldest;
            long reachable = floored ? Math.min(exactFrom, applied) : oldest;
            List<Run> runs = new java.util.ArrayList<>();
            for (long[] r : sync.knownRuns()) {
                if (r[1] >= reachable && r[0] <= applied) {
                    runs.add(new Run(Math.max(r[0], reachable), Math.min(r[1], applied)));
                }
            }
            boolean rollingBack = ControlFiles.read(dir, ControlFiles.INTENT) != null;
            return new RollbackWindow(volumeId, applied, reachable,
                    w.empty() ? 0 : floored ? undo.captureTimeAbove(Math.min(exactFrom, applied)) : w.oldestTimeNanos(),
                    w.bytes(), w.segments(), w.diskBytes(),
                    paused == null ? null : paused.text(), rollingBack,
                    MarkIndexRecovery.read(dir).marks(), rollingBack ? ROLLING_BACK : st.state(), st.consistentSequence(),
                    exactFrom, List.copyOf(runs));
        }
    }
}
