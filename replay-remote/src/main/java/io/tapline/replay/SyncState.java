package io.tapline.replay;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordFormatException;
import io.tapline.log.ResyncEpoch;

/**
 * Whether a replica is a consistent image of its source, and since when, as the records applied
 * so far say. Immutable; {@link #after} gives the state after one more applied record.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>A GAP record, or a hole in the sequence (accepted only before a RESYNC_BEGIN or before a
 *       GAP that says the source lost the records in it, {@code CaptureRecord.FLAG_RECORDS_LOST}), makes the
 *       replica <b>out of sync</b>: it misses data the source has.</li>
 *   <li>A RESYNC_BEGIN starts an epoch: the replica is <b>resyncing</b> (inconsistent) until the
 *       RESYNC_END of the same id. The END makes it consistent again only if the resync covered
 *       it: it was consistent when the epoch began (the epoch's WRITEs are the source's own bytes,
 *       so applying them keeps it consistent), or it answered the epoch's chunk-hash comparison
 *       ({@code hashed}), or the epoch is a copy ({@link ResyncEpoch#copy()}: every chunk in its
 *       scope sent whole) that covers it: the whole volume, or the chunks changed since
 *       {@code copiedSince} and the replica was consistent at or after that sequence (above 0)
 *       and did not reach the BEGIN across a hole (records missing, not only chunks);
 *       and no GAP arrived inside the epoch. A partial compare epoch that begins while the replica
 *       is inside another, unfinished one counts as such a GAP: what the unfinished one wrote may
 *       lie outside its scope, so only a full epoch makes that replica consistent; unless the
 *       new one <i>resumes</i> it ({@link ResyncEpoch#resumes()}: its scope holds every chunk the
 *       unfinished one had not compared), when the replica keeps its state in the unfinished one
 *       (covered, or a GAP inside it) into the new one.</li>
 *   <li>{@code consistentSequence} is the newest applied sequence at which the replica was
 *       consistent: the target of {@code rollback --to-last-consistent}. The replica was consistent
 *       at every sequence from {@code consistentSince} to it (one unbroken run; -1 and 0 when no
 *       consistent point is known), and in each of {@code earlierRuns} (the last
 *       {@link ConsistentRuns#MAX}). A rollback is consistent only at a point inside a run.</li>
 *   <li>{@code exactFrom}: the replica was written outside the log (another program, a promotion,
 *       a history that diverged, bytes a verify found different) after sequence
 *       {@code exactFrom - 1}; the undo log holds no before-images of those writes, so no rollback
 *       or image below {@code exactFrom} gives back what the replica held there. 0 when never.</li>
 * </ul>
 * Example: applied 1..10 consistent; 11 GAP -> out of sync, consistent at 10; 12 RESYNC_BEGIN
 * id 7 -> resyncing; hashes served for 7; 13..40 WRITEs; 41 RESYNC_END 7 -> consistent at 41,
 * a run from 41, the run 0..10 kept; a rollback to 5 is consistent, one to 20 is out of sync,
 * consistent at 10.
 *
 * @param outOfSync          data is missing (a GAP or a hole was applied and not healed)
 * @param resyncing          inside a resync epoch
 * @param coveredByResync    the current epoch covers this replica (consistent at BEGIN, or hashed)
 * @param gapDuringResync    a GAP arrived inside the current epoch
 * @param firstGapSequence   sequence of the first unhealed GAP, 0 if none
 * @param consistentSequence newest sequence at which the replica was consistent, 0 if none is known
 * @param resyncId           the current epoch, 0 if none
 * @param consistentSince    first sequence of the run that ends at {@code consistentSequence}, -1 if none
 * @param exactFrom          oldest sequence a rollback or image rebuilds exactly, 0 if every one does
 * @param earlierRuns        the consistent runs before that one
 */
record SyncState(boolean outOfSync, boolean resyncing, boolean coveredByResync, boolean gapDuringResync,
        long firstGapSequence, long consistentSequence, long resyncId, long consistentSince, long exactFrom,
        ConsistentRuns earlierRuns) {

    /** A replica consistent at {@code sequence}, with nothing known of it before. */
    static SyncState consistentAt(long sequence) {
        return new SyncState(false, false, false, false, 0, sequence, 0, sequence, 0, ConsistentRuns.NONE);
    }

    /** Consistent at {@code sequence}: the current run goes on if the replica is consistent, else one starts there. */
    private SyncState consistentNowAt(long sequence) {
        if (consistent()) {
            return new SyncState(false, false, false, false, 0, sequence, 0, consistentSince, exactFrom, earlierRuns);
        }
        return new SyncState(false, false, false, false, 0, sequence, 0, sequence, exactFrom, allRuns());
    }

    /** Every run known, the one ending at {@code consistentSequence} last. */
    private ConsistentRuns allRuns() {
        return consistentSince < 0 ? earlierRuns : earlierRuns.with(consistentSince, consistentSequence);
    }

    /** Whether the replica is a consistent image now. */
    boolean consistent() {
        return !outOfSync && !resyncing;
    }

    /** The state after applying {@code r}, which follows the record at {@code previousSequence}. */
    SyncState after(CaptureRecord r, long previousSequence) {
        SyncState s = this;
        if (r.sequence() != previousSequence + 1) {
            s = s.withGap(r.sequence(), previousSequence); // a hole: only a RESYNC_BEGIN may follow one
        }
        switch (r.kind()) {
            case GAP -> {
                return s.withGap(r.sequence(), previousSequence);
            }
            case RESYNC_BEGIN -> {
                ResyncEpoch e = epoch(r);
                // A copy of tracked chunks heals a replica that misses only what the log did not carry; one
                // that crossed a hole to reach this BEGIN misses records too (e.g. a topic's retention): only
                // a full copy heals it.
                boolean crossedHole = r.sequence() != previousSequence + 1;
                boolean covered = (!s.outOfSync && !s.resyncing) || (e != null && e.copy() && (e.full()
                        || (!crossedHole && s.consistentSequence > 0 && s.consistentSequence >= e.copiedSince())));
                // A compare epoch that begins over another one left unfinished (a source that crashed
                // mid-resync and started a new epoch before hearing of the old one): the old one's
                // writes reached part of its scope, which the new one's tracked chunks need not cover.
                // Hashes of a partial scope cannot prove that: only a full epoch heals it.
                boolean overAbandoned = s.resyncing && e != null && e.id() != s.resyncId && !e.full() && !e.copy();
                if (overAbandoned && !crossedHole && e.resumes() == s.resyncId) {
                    // It continues the unfinished one: its scope holds every chunk that one had not
                    // compared, so the replica keeps what it had in that epoch (covered or not, a GAP or not).
                    return new SyncState(s.outOfSync, true, s.coveredByResync, s.gapDuringResync, s.firstGapSequence,
                            s.consistentSequence, e.id(), s.consistentSince, s.exactFrom, s.earlierRuns);
                }
                return new SyncState(s.outOfSync, true, covered, overAbandoned, s.firstGapSequence,
                        s.consistentSequence, e == null ? 0 : e.id(), s.consistentSince, s.exactFrom, s.earlierRuns);
            }
            case RESYNC_END -> {
                if (!s.resyncing || epochId(r) != s.resyncId) {
                    return s.advancedTo(r.sequence());
                }
                if (s.coveredByResync && !s.gapDuringResync) {
                    return s.consistentNowAt(r.sequence()); // resyncing until here: a new run starts
                }
                return new SyncState(true, false, false, false, s.firstGapSequence == 0 ? r.sequence()
                        : s.firstGapSequence, s.consistentSequence, 0, s.consistentSince, s.exactFrom, s.earlierRuns);
            }
            default -> {
                return s.advancedTo(r.sequence());
            }
        }
    }

    /** The current epoch's chunk hashes were served: the epoch now covers this replica. */
    SyncState hashedFor(long epoch) {
        if (!resyncing || epoch != resyncId || coveredByResync) {
            return this;
        }
        return new SyncState(outOfSync, true, true, gapDuringResync, firstGapSequence, consistentSequence, resyncId,
                consistentSince, exactFrom, earlierRuns);
    }

    /**
     * An online verify proved bytes differ at applied sequence {@code lastApplied}: out of sync
     * from there (the damage is older, but no record says when), healed only by a resync epoch
     * that compares it. Bytes the log does not explain: no rollback below {@code lastApplied + 1}
     * is exact any more.
     */
    SyncState differenceFound(long lastApplied) {
        return withGap(lastApplied, lastApplied).writtenOutsideAfter(lastApplied);
    }

    /** The same state, with no rollback below {@code lastApplied + 1} exact any more. */
    SyncState writtenOutsideAfter(long lastApplied) {
        return new SyncState(outOfSync, resyncing, coveredByResync, gapDuringResync, firstGapSequence,
                consistentSequence, resyncId, consistentSince, Math.max(exactFrom, lastApplied + 1), earlierRuns);
    }

    /**
     * Records from {@code firstMissing} on will never arrive (a Kafka topic's retention deleted them
     * before this replica read them): out of sync from there, consistent at {@code lastApplied} at
     * most; a copy of tracked chunks cannot heal that, a full resync can.
     */
    SyncState recordsMissingFrom(long firstMissing, long lastApplied) {
        return withGap(firstMissing, lastApplied);
    }

    /**
     * The replica was written outside the log after {@code lastApplied} (served read-write while
     * promoted, another program, a diverged history): out of sync from {@code lastApplied} with no
     * consistent point known (0), so the next resync compares the whole volume; no rollback below
     * {@code lastApplied + 1} is exact any more.
     */
    static SyncState writtenElsewhere(long lastApplied) {
        return new SyncState(true, false, false, false, lastApplied, 0, 0, -1, lastApplied + 1, ConsistentRuns.NONE);
    }

    /** Every consistent run known (the ones a rollback consults), oldest first, as {@code {since, until}} pairs. */
    java.util.List<long[]> knownRuns() {
        java.util.List<long[]> out = new java.util.ArrayList<>(earlierRuns.count() + 1);
        for (int i = 0; i < earlierRuns.count(); i++) {
            out.add(new long[] {earlierRuns.since(i), earlierRuns.until(i)});
        }
        if (consistentSince >= 0) {
            out.add(new long[] {consistentSince, consistentSequence});
        }
        return out;
    }

    /**
     * After a rollback to {@code target}: consistent there if a known consistent run holds it and
     * it is rebuilt exactly ({@code exactFrom}); else out of sync, consistent at the end of the
     * newest run before it (which the rollback kept), or with no consistent point known, so that
     * the next resync compares the whole volume. An unfinished epoch is abandoned.
     */
    SyncState rolledBackTo(long target) {
        if (target >= exactFrom) {
            if (consistentSince >= 0 && consistentSince <= target) {
                return rolledBackInto(target, consistentSince, consistentSequence, earlierRuns);
            }
            int i = earlierRuns.newestStartingAtOrBefore(target);
            if (i >= 0) {
                return rolledBackInto(target, earlierRuns.since(i), earlierRuns.until(i), earlierRuns.before(i));
            }
        }
        return new SyncState(true, false, false, false, target, 0, 0, -1, exactFrom, ConsistentRuns.NONE);
    }

    /** After a rollback to {@code target}, whose newest run starting at or before it is {@code since..until}. */
    private SyncState rolledBackInto(long target, long since, long until, ConsistentRuns older) {
        if (target <= until) {
            return new SyncState(false, false, false, false, 0, target, 0, since, exactFrom, older);
        }
        if (until >= exactFrom) {
            return new SyncState(true, false, false, false, until + 1, until, 0, since, exactFrom, older);
        }
        return new SyncState(true, false, false, false, target, 0, 0, -1, exactFrom, ConsistentRuns.NONE);
    }

    private SyncState advancedTo(long sequence) {
        return consistent() ? consistentNowAt(sequence) : this;
    }

    private SyncState withGap(long sequence, long previousSequence) {
        long consistentAt = consistent() ? previousSequence : consistentSequence;
        return new SyncState(true, resyncing, coveredByResync, resyncing, firstGapSequence == 0 ? sequence
                : firstGapSequence, consistentAt, resyncId, consistentSince, exactFrom, earlierRuns);
    }

    private static long epochId(CaptureRecord r) {
        ResyncEpoch e = epoch(r);
        return e == null ? 0 : e.id();
    }

    private static ResyncEpoch epoch(CaptureRecord r) {
        try {
            return ResyncEpoch.parse(r.text());
        } catch (RecordFormatException e) {
            return null;
        }
    }
}
