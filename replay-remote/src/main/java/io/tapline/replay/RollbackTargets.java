package io.tapline.replay;

import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.log.undo.MarkIndex;
import io.tapline.log.undo.UndoLog;
import java.time.Instant;
import java.util.stream.Collectors;

/**
 * Turns "a sequence, a time or a mark" into the sequence to roll back to, and checks it against
 * the rollback window. Stateless.
 *
 * <p>A time means the newest record captured at or before it (every applied record, data or
 * not, has an undo entry with its capture time); a time before the first record of a window that
 * reaches back to the volume's start is seq 0, the volume before any write.
 */
public final class RollbackTargets {
    private RollbackTargets() {
    }

    /** @throws RefusedException naming what is wrong with the target */
    public static long resolve(String volumeId, int targetKind, long value, String markName, UndoLog undo,
            MarkIndex marks, long lastApplied) throws RefusedException {
        return switch (targetKind) {
            case AdminRequest.TO_SEQUENCE -> {
                long[] around = undo.heldAround(value);
                UndoLog.Window w = undo.window();
                // Inside the window, with no record at it: the replica never held that state (probe Q D1:
                // rolled back "to" 38000 inside a jump 7313 -> 38356, it held 7313's bytes labelled 38000).
                if (value < lastApplied && around[1] != -1 && around[0] != value && !w.empty()
                        && value > w.oldestReachableSequence()) {
                    throw new RefusedException("target seq " + value + " was never applied on volume " + volumeId
                            + ": its sequence jumped from " + Math.max(around[0], w.oldestReachableSequence()) + " to "
                            + around[1] + " (a resync, or records the source lost); the nearest points are seq "
                            + Math.max(around[0], w.oldestReachableSequence()) + " and seq " + around[1]);
                }
                if (around[0] == -1 && around[1] != -1 && value == w.oldestReachableSequence() && value < lastApplied
                        && undo.oldestKind() == io.tapline.log.RecordKind.RESYNC_BEGIN) {
                    // The window's floor is the state before its oldest record; before a resync's start
                    // that may be a state far below it (probe T T1: a replica that joined at a jump
                    // 0 -> 355 labelled seq 0's zeroes "354").
                    throw new RefusedException("target seq " + value + " may never have been applied on volume "
                            + volumeId + ": the oldest record the rollback window holds is a resync's start at seq "
                            + around[1] + ", which may have jumped past it; the oldest exact point is seq " + around[1]);
                }
                yield value;
            }
            case AdminRequest.TO_TIME -> {
                long seq = undo.sequenceAtOrBefore(value);
                UndoLog.Window w = undo.window();
                if (seq == -1 && !w.empty() && w.oldestReachableSequence() == 0) {
                    yield 0; // before the volume's first write: its state then is seq 0's
                }
                if (seq == -1) {
                    throw new RefusedException("time " + Instant.ofEpochSecond(0, value) + " is older than the rollback"
                            + " window of volume " + volumeId + (w.empty() ? " (empty)" : " (oldest reachable seq "
                            + w.oldestReachableSequence() + ", just before " + Instant.ofEpochSecond(0,
                            w.oldestTimeNanos()) + ")"));
                }
                if (seq >= undo.newestSequence()) {
                    yield lastApplied;
                }
                UndoLog.Held next = undo.heldAbove(seq);
                if (next != null && (next.sequence() != seq + 1 || next.kind() == io.tapline.log.RecordKind.GAP)) {
                    // The source's state at that time is not among the replica's: writes were lost between seq
                    // and the next record (a full buffer, a capture gap), or the sequence jumped past records the
                    // replica never had (probe s62 AD D1: the point before the loss was returned as "the state at
                    // T", without the transactions the host had acknowledged by then).
                    throw new RefusedException("time " + Instant.ofEpochSecond(0, value) + " falls where volume "
                            + volumeId + "'s replica holds no state of its source: after seq " + seq + " the next"
                            + " record it holds is " + (next.sequence() != seq + 1 ? "seq " + next.sequence()
                            + ", a jump past records it never had (a resync after a rollback, or records the source"
                            + " lost)" : "a GAP (seq " + next.sequence() + "): writes the source did not capture (a"
                            + " full buffer, a capture gap)") + ", captured " + Instant.ofEpochSecond(0,
                            next.captureTimeNanos()) + "; writes acknowledged by then may be missing from seq " + seq
                            + ": the nearest points are seq " + seq + " and seq " + next.sequence() + " (--seq)");
                }
                yield seq;
            }
            case AdminRequest.TO_MARK -> marks.find(markName).map(MarkIndex.Mark::sequence).orElseThrow(
                    () -> new RefusedException("no mark " + markName + " on volume " + volumeId + " at or before its seq "
                            + lastApplied + " (known: " + marks.marks().stream().map(MarkIndex.Mark::name).distinct()
                            .collect(Collectors.joining(", ")) + "): a rollback to before it dropped it (it comes"
                            + " back only if the source sends its record again after tapline resume, not when a"
                            + " resync jumps past it), it has not arrived yet, or it never reached this replica"));
            default -> throw new RefusedException("targetKind: " + targetKind + " (expected: 1..3)");
        };
    }

    /**
     * {@link #resolve} and {@link #checkReachable(String, long, UndoLog.Window, long, long)} in one:
     * a sequence target is checked against the oldest exact point first, where a jump's "nearest
     * points" would be refused too (probe X D5). {@code reachableUpTo} is the newest sequence the
     * undo log or the applied state reaches.
     */
    static long resolveReachable(String volumeId, int targetKind, long value, String markName, UndoLog undo,
            MarkIndex marks, long lastApplied, long reachableUpTo, long exactFrom) throws RefusedException {
        if (targetKind == AdminRequest.TO_SEQUENCE) {
            checkReachable(volumeId, value, undo.window(), reachableUpTo, exactFrom);
        }
        long target = resolve(volumeId, targetKind, value, markName, undo, marks, lastApplied);
        checkReachable(volumeId, target, undo.window(), reachableUpTo, exactFrom);
        return target;
    }

    /**
     * As {@link #checkReachable(String, long, UndoLog.Window, long)}, and refuses a target the undo
     * log cannot rebuild exactly because the replica was written outside the log after it
     * ({@code exactFrom}, {@code applied.state}); the applied sequence itself is always exact.
     */
    static void checkReachable(String volumeId, long target, UndoLog.Window w, long lastApplied, long exactFrom)
            throws RefusedException {
        checkReachable(volumeId, target, w, lastApplied);
        if (target < exactFrom && target != lastApplied) {
            throw new RefusedException("target seq " + target + " cannot be rebuilt: volume " + volumeId
                    + " was written outside the log after seq " + (exactFrom - 1) + " (see `tapline audit`), and the"
                    + " undo log holds no before-images of those writes; the oldest exact point is seq "
                    + Math.min(exactFrom, lastApplied));
        }
    }

    /** @throws RefusedException when {@code target} is above the applied sequence or below the window */
    public static void checkReachable(String volumeId, long target, UndoLog.Window w, long lastApplied)
            throws RefusedException {
        if (target > lastApplied || target < 0) {
            throw new RefusedException("target seq " + target + " (expected: 0.." + lastApplied
                    + ", the applied sequence of volume " + volumeId + ")");
        }
        if (!w.empty() && w.newestSequence() < lastApplied && target < lastApplied) {
            // Every applied record leaves an undo record (a before-image or a note): an undo log that
            // ends below the applied sequence lost its newest records, so nothing below it is exact.
            throw new RefusedException("target seq " + target + " cannot be rebuilt: the undo log of volume " + volumeId
                    + " ends at seq " + w.newestSequence() + ", below its applied seq " + lastApplied + " (its newest"
                    + " records are missing: an undo segment deleted or lost?); only seq " + lastApplied
                    + " is reachable");
        }
        long oldest = w.empty() ? lastApplied : w.oldestReachableSequence();
        if (target < oldest) {
            throw new RefusedException("target seq " + target + " is older than the rollback window of volume "
                    + volumeId + " (oldest reachable seq " + oldest + ")");
        }
    }
}
