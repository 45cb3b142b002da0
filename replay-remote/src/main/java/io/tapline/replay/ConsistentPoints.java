package io.tapline.replay;

import io.tapline.log.RecordKind;
import io.tapline.log.undo.MarkIndex;
import io.tapline.log.undo.UndoLog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The points of a volume's rollback window where the host had made its writes durable: every
 * FLUSH barrier and MARK the undo log holds, plus the current applied sequence. These are the
 * candidates {@code tapline rollback --until-check} bisects over: between two barriers a file
 * system is in flight, so a check there would judge a state no host ever promised. Only barriers
 * inside a known consistent run ({@link SyncState#knownRuns}) count: one inside a resync epoch or
 * after a gap is a mix of the source's bytes from two times, which no host ever saw either.
 *
 * <p>Read without changing anything, from any process (like {@link RollbackWindow}).
 *
 * @param volumeId        the volume
 * @param appliedSequence the durable last applied sequence (the newest point, last in {@code points})
 * @param points          candidate sequences, oldest first, all inside the window
 */
public record ConsistentPoints(String volumeId, long appliedSequence, List<Long> points) {
    private static final Set<RecordKind> BARRIERS = Set.of(RecordKind.FLUSH, RecordKind.MARK);

    /** @throws RefusedException when there is no such volume or it is being rolled back */
    public static ConsistentPoints read(Path dataDir, String volumeId) throws IOException, RefusedException {
        Path dir = dataDir.resolve(volumeId);
        if (VolumeMeta.read(dir) == null) {
            throw new RefusedException("no volume " + volumeId + " in " + dataDir);
        }
        if (ControlFiles.read(dir, ControlFiles.INTENT) != null) {
            throw new RefusedException("volume " + volumeId + " is being rolled back; retry once it is done");
        }
        AppliedState.Durable st = AppliedState.peekDurable(dir);
        long applied = st == null ? 0 : st.lastApplied();
        SyncState sync = st == null ? SyncState.consistentAt(0) : st.sync(); // no file yet: a new replica
        long exactFrom = sync.exactFrom(); // below it no image is the one the replica held
        TreeSet<Long> points = new TreeSet<>();
        try (UndoLog undo = UndoLog.openReadOnly(dir.resolve("undo"))) {
            UndoLog.Window w = undo.window();
            long oldest = Math.max(w.empty() ? applied : w.oldestReachableSequence(), exactFrom);
            for (long seq : undo.sequencesOf(BARRIERS)) {
                if (seq >= oldest && seq <= applied) {
                    points.add(seq);
                }
            }
            for (MarkIndex.Mark m : MarkIndexRecovery.read(dir).marks()) {
                if (m.sequence() >= oldest && m.sequence() <= applied) {
                    points.add(m.sequence());
                }
            }
        }
        List<long[]> runs = sync.knownRuns();
        points.removeIf(p -> runs.stream().noneMatch(r -> p >= r[0] && p <= r[1]));
        points.add(applied);
        return new ConsistentPoints(volumeId, applied, List.copyOf(points));
    }
}
