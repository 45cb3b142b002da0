package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.ResyncEpoch;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyncStateTest {
    @TempDir
    Path dir;

    private static CaptureRecord rec(long seq, RecordKind kind, String text) {
        byte[] payload = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        long length = kind == RecordKind.WRITE ? payload.length : 0;
        return CaptureRecord.seal("v", seq, seq, kind, 0, length, 0, Provenance.INTERNAL, payload);
    }

    private static CaptureRecord begin(long seq, long id) {
        return rec(seq, RecordKind.RESYNC_BEGIN, new ResyncEpoch(id, false, "test").text());
    }

    private static CaptureRecord end(long seq, long id) {
        return rec(seq, RecordKind.RESYNC_END, new ResyncEpoch(id, false, "").text());
    }

    private static CaptureRecord copyBegin(long seq, long id, boolean full, long copiedSince) {
        return rec(seq, RecordKind.RESYNC_BEGIN, new ResyncEpoch(id, full, "test", copiedSince).text());
    }

    /**
     * NeverStrandedIT saw it once in CI: a source killed mid-resync, the replica rolled back and the
     * unfinished epoch E re-sent to it, and the restarted source began a partial epoch F (its hot
     * extents) before the replica reported E as stale. F's hashes covered F's chunks only, so F's END
     * called the replica consistent while E's writes had left a mix elsewhere (status synced, md5s
     * differing). A partial compare epoch over an unfinished one must leave it out of sync; a full
     * one heals it.
     */
    @Test
    void aPartialEpochOverAnUnfinishedOneDoesNotMakeTheReplicaConsistent() {
        SyncState s = SyncState.consistentAt(97).after(rec(98, RecordKind.RESYNC_BEGIN,
                new ResyncEpoch(0xE, false, "tracked: whole volume").text()), 97);
        s = s.after(rec(99, RecordKind.WRITE, "e's write"), 98);
        SyncState partial = s.after(begin(156, 0xF), 155).hashedFor(0xF).after(end(157, 0xF), 156);
        assertFalse(partial.consistent(), "F compared its own chunks only: " + partial);
        assertTrue(partial.outOfSync());
        assertEquals(97, partial.consistentSequence(), "the last consistent point stays before E");
        SyncState full = s.after(rec(156, RecordKind.RESYNC_BEGIN, new ResyncEpoch(0xF, true, "full").text()), 155)
                .hashedFor(0xF).after(end(157, 0xF), 156);
        assertTrue(full.consistent(), "a full epoch compares every chunk: " + full);
    }

    private static CaptureRecord resumingBegin(long seq, long id, long resumes) {
        return rec(seq, RecordKind.RESYNC_BEGIN, new ResyncEpoch(id, false, "resuming", ResyncEpoch.NOT_A_COPY,
                resumes).text());
    }

    /**
     * A link lost halfway through epoch E: the source puts E's uncompared chunks back and begins F
     * resuming E. A replica covered in E (consistent at its BEGIN) stays covered; F's END makes it
     * consistent, with no whole-volume epoch.
     */
    @Test
    void anEpochResumingTheUnfinishedOneKeepsTheReplicasStateInIt() {
        SyncState s = SyncState.consistentAt(97).after(begin(98, 0xE), 97).after(rec(99, RecordKind.WRITE, "e"), 98);
        assertTrue(s.coveredByResync());
        SyncState f = s.after(resumingBegin(140, 0xF, 0xE), 139);
        assertTrue(f.resyncing() && f.coveredByResync() && !f.gapDuringResync(), f.toString());
        assertEquals(0xF, f.resyncId());
        SyncState ended = f.after(end(141, 0xF), 140);
        assertTrue(ended.consistent(), ended.toString());
        assertEquals(141, ended.consistentSequence());
    }

    /** Out of sync before a full E abandoned before it asked anything: F must ask (its scope is the rest). */
    @Test
    void aReplicaNotYetCoveredInTheUnfinishedEpochNeedsTheResumingOnesHashes() {
        SyncState s = SyncState.consistentAt(9).after(rec(10, RecordKind.GAP, "g"), 9)
                .after(rec(11, RecordKind.RESYNC_BEGIN, new ResyncEpoch(0xE, true, "full").text()), 10);
        assertFalse(s.coveredByResync());
        SyncState f = s.after(resumingBegin(20, 0xF, 0xE), 19);
        assertFalse(f.coveredByResync(), "not covered in E: " + f);
        assertTrue(f.after(end(21, 0xF), 20).outOfSync(), "nothing compared with it");
        assertTrue(f.hashedFor(0xF).after(end(21, 0xF), 20).consistent(), "F compared every chunk E still owed");
    }

    @Test
    void aGapInsideTheUnfinishedEpochStaysInTheResumingOne() {
        SyncState s = SyncState.consistentAt(97).after(begin(98, 0xE), 97).after(rec(99, RecordKind.GAP, "lost"), 98);
        SyncState ended = s.after(resumingBegin(140, 0xF, 0xE), 139).hashedFor(0xF).after(end(141, 0xF), 140);
        assertTrue(ended.outOfSync(), ended.toString());
        assertEquals(97, ended.consistentSequence());
    }

    @Test
    void anEpochResumingAnotherThanTheUnfinishedOneIsAGapInIt() {
        SyncState s = SyncState.consistentAt(97).after(begin(98, 0xE), 97).after(rec(99, RecordKind.WRITE, "e"), 98);
        SyncState ended = s.after(resumingBegin(140, 0xF, 0xD), 139).hashedFor(0xF).after(end(141, 0xF), 140);
        assertTrue(ended.outOfSync(), "F continues D, not E: what E wrote may lie outside F's scope; " + ended);
    }

    @Test
    void resumesIsKeptInTheTextAndOnlyOnAComparingEpochOfTrackedChunks() {
        ResyncEpoch f = ResyncEpoch.parse(new ResyncEpoch(0xF, false, "why: it", ResyncEpoch.NOT_A_COPY, 0xE).text());
        assertEquals(0xE, f.resumes());
        assertEquals("why: it", f.reason());
        assertEquals(0, ResyncEpoch.parse("resync f chunks: x").resumes());
        org.junit.jupiter.api.Assertions.assertThrows(io.tapline.log.RecordFormatException.class,
                () -> ResyncEpoch.parse("resync f full resumes=e: x"));
    }

    @Test
    void aCopyEpochHealsAReplicaConsistentSinceItsBoundWithoutHashes() {
        // Kafka: buffer FULL from seq 21, GAP 30; the last epoch began at 12, so the copy holds every
        // chunk changed since 12 and the replica, consistent at 29, is healed by it.
        SyncState s = SyncState.consistentAt(29).after(rec(30, RecordKind.GAP, "buffer full"), 29);
        s = s.after(copyBegin(31, 5, false, 12), 30);
        assertTrue(s.coveredByResync(), "consistent at 29 >= copy-since 12");
        s = s.after(rec(32, RecordKind.WRITE, "x"), 31).after(end(33, 5), 32);
        assertTrue(s.consistent());
        assertEquals(33, s.consistentSequence());
    }

    @Test
    void aCopyEpochDoesNotHealAReplicaOutOfSyncFromBeforeItsBound() {
        SyncState s = SyncState.consistentAt(9).after(rec(10, RecordKind.GAP, "g"), 9);
        s = s.after(copyBegin(40, 5, false, 12), 39).after(end(41, 5), 40);
        assertTrue(s.outOfSync(), "consistent at 9 < copy-since 12: chunks changed before 12 may be missing");
        assertEquals(9, s.consistentSequence());
        SyncState elsewhere = SyncState.writtenElsewhere(50).after(copyBegin(51, 6, false, 0), 50).after(end(52, 6), 51);
        assertTrue(elsewhere.outOfSync(), "no consistent point known (written while promoted): only a full copy heals");
        SyncState full = SyncState.writtenElsewhere(50).after(copyBegin(51, 6, true, 0), 50).after(end(52, 6), 51);
        assertTrue(full.consistent(), "a full copy sends every chunk of the volume");
    }

    @Test
    void aReplicaThatCrossedAHoleToReachACopyOfChunksIsNotHealedByIt() {
        // A Kafka site consistent at 99 whose records 100..209 the topic's retention deleted: the copy
        // BEGIN at 210 (bound 50) sends only the chunks the log did not carry, not those records.
        SyncState s = SyncState.consistentAt(99).after(copyBegin(210, 5, false, 50), 99);
        assertFalse(s.coveredByResync());
        s = s.after(rec(211, RecordKind.WRITE, "x"), 210).after(end(212, 5), 211);
        assertTrue(s.outOfSync(), "records 100..209 are missing");
        assertEquals(99, s.consistentSequence());
        SyncState full = SyncState.consistentAt(99).after(copyBegin(210, 6, true, 0), 99).after(end(211, 6), 210);
        assertTrue(full.consistent(), "a full copy heals it");
    }

    @Test
    void aGapInsideACopyEpochLeavesTheReplicaOutOfSyncAtItsOldPoint() {
        SyncState s = SyncState.consistentAt(29).after(rec(30, RecordKind.GAP, "g"), 29);
        s = s.after(copyBegin(31, 5, false, 12), 30).after(rec(32, RecordKind.GAP, "again"), 31).after(end(33, 5), 32);
        assertTrue(s.outOfSync());
        assertEquals(29, s.consistentSequence(), "the next copy (same bound, the set keeps the new marks) heals it");
    }

    @Test
    void theCopyBoundTravelsInTheEpochTextAndOldTextStillParses() {
        ResyncEpoch e = new ResyncEpoch(0xabcL, false, "tracked chunks: 3", 12);
        assertEquals("resync abc chunks copy-since=12: tracked chunks: 3", e.text());
        assertEquals(e, ResyncEpoch.parse(e.text()));
        ResyncEpoch old = ResyncEpoch.parse("resync abc full: requested");
        assertFalse(old.copy());
        assertTrue(old.full());
        assertEquals(ResyncEpoch.NOT_A_COPY, old.copiedSince());
    }

    @Test
    void theWorkedExampleOfTheContract() {
        SyncState s = SyncState.consistentAt(10);
        s = s.after(rec(11, RecordKind.GAP, "buffer full"), 10);
        assertTrue(s.outOfSync());
        assertEquals(10, s.consistentSequence());
        s = s.after(begin(12, 7), 11);
        assertTrue(s.resyncing());
        assertFalse(s.coveredByResync(), "out of sync at BEGIN: only its hashes can cover it");
        s = s.hashedFor(7);
        s = s.after(rec(13, RecordKind.WRITE, "x"), 12);
        assertEquals(10, s.consistentSequence(), "not consistent while resyncing");
        s = s.after(end(41, 7), 40);
        assertTrue(s.consistent());
        assertEquals(41, s.consistentSequence());
    }

    @Test
    void anEpochThatDidNotCoverTheReplicaLeavesItOutOfSync() {
        SyncState s = SyncState.consistentAt(5).after(rec(6, RecordKind.GAP, "g"), 5);
        s = s.after(begin(7, 9), 6).after(end(8, 9), 7);
        assertTrue(s.outOfSync(), "no hashes served for epoch 9: still out of sync");
        assertEquals(5, s.consistentSequence());
    }

    @Test
    void aConsistentReplicaStaysConsistentThroughAnEpochItDidNotHash() {
        SyncState s = SyncState.consistentAt(5).after(begin(6, 3), 5);
        assertTrue(s.coveredByResync());
        s = s.after(end(7, 3), 6);
        assertTrue(s.consistent());
    }

    @Test
    void aGapInsideTheEpochIsNotHealedByItsEnd() {
        SyncState s = SyncState.consistentAt(5).after(begin(6, 3), 5).hashedFor(3);
        s = s.after(rec(7, RecordKind.GAP, "g"), 6).after(end(8, 3), 7);
        assertTrue(s.outOfSync());
    }

    @Test
    void aHoleBeforeABeginMakesTheReplicaOutOfSyncUntilHashed() {
        SyncState s = SyncState.consistentAt(4).after(begin(100, 1), 4);
        assertTrue(s.outOfSync() && s.resyncing());
        assertEquals(4, s.consistentSequence(), "the last consistent point is the one before the hole");
        assertTrue(s.after(end(101, 1), 100).outOfSync(), "not hashed");
        assertTrue(s.hashedFor(1).after(end(101, 1), 100).consistent());
    }

    @Test
    void anEndOfAnotherEpochChangesNothing() {
        SyncState s = SyncState.consistentAt(5).after(begin(6, 3), 5).hashedFor(3);
        assertTrue(s.after(end(7, 4), 6).resyncing());
    }

    @Test
    void rollbackToTheLastConsistentPointIsConsistent() {
        SyncState s = SyncState.consistentAt(5).after(begin(6, 3), 5).after(rec(7, RecordKind.WRITE, "x"), 6);
        assertTrue(s.rolledBackTo(5).consistent());
        assertFalse(s.rolledBackTo(6).consistent());
    }

    @Test
    void aRollbackIntoAHealedResyncEpochIsOutOfSync() {
        // Consistent 0..10; a GAP at 11; an epoch 12..21 hashed and healed at 21; consistent 22..30.
        SyncState s = SyncState.consistentAt(0);
        for (long seq = 1; seq <= 10; seq++) {
            s = s.after(rec(seq, RecordKind.WRITE, "x"), seq - 1);
        }
        s = s.after(rec(11, RecordKind.GAP, "g"), 10).after(begin(12, 4), 11).hashedFor(4);
        for (long seq = 13; seq <= 20; seq++) {
            s = s.after(rec(seq, RecordKind.WRITE, "x"), seq - 1);
        }
        s = s.after(end(21, 4), 20);
        for (long seq = 22; seq <= 30; seq++) {
            s = s.after(rec(seq, RecordKind.WRITE, "x"), seq - 1);
        }
        assertTrue(s.consistent());
        assertEquals(21, s.consistentSince(), "the consistent run starts at the END that healed it");
        assertTrue(s.rolledBackTo(25).consistent(), "inside the run");
        assertTrue(s.rolledBackTo(21).consistent(), "the END itself");
        SyncState inEpoch = s.rolledBackTo(15);
        assertTrue(inEpoch.outOfSync(), "seq 15 was inside the resync: the replica was not consistent there");
        assertEquals(10, inEpoch.consistentSequence(), "the run before the gap is kept");
        assertEquals(11, inEpoch.firstGapSequence());
        SyncState before = s.rolledBackTo(5);
        assertTrue(before.consistent(), "inside the earlier run 0..10");
        assertEquals(5, before.consistentSequence());
        assertEquals(ConsistentRuns.NONE, before.earlierRuns());
        SyncState afterIt = before.after(rec(6, RecordKind.WRITE, "x"), 5);
        assertTrue(afterIt.rolledBackTo(2).consistent(), "the run goes on after the rollback");
    }

    @Test
    void onlyTheNewestRunsAreKept() {
        SyncState s = SyncState.consistentAt(0);
        long seq = 0;
        for (int run = 0; run < ConsistentRuns.MAX + 5; run++) { // cycle mode: BEGIN, a WRITE, END, per cycle
            s = s.after(begin(++seq, run + 1), seq - 1).hashedFor(run + 1);
            s = s.after(rec(++seq, RecordKind.WRITE, "x"), seq - 1);
            s = s.after(end(++seq, run + 1), seq - 1);
        }
        assertTrue(s.consistent(), s.toString());
        assertEquals(ConsistentRuns.MAX, s.earlierRuns().count());
        assertTrue(s.rolledBackTo(seq - 3).consistent(), "the previous cycle's END");
        assertTrue(s.rolledBackTo(seq - 4).outOfSync(), "inside the previous cycle's epoch");
        long oldestKeptEnd = s.earlierRuns().since(0);
        assertTrue(s.rolledBackTo(oldestKeptEnd).consistent());
        assertEquals(ConsistentRuns.MAX + 1, s.knownRuns().size(), "the kept runs and the current one");
        SyncState tooOld = s.rolledBackTo(oldestKeptEnd - 3); // an END whose run was dropped
        assertTrue(tooOld.outOfSync(), "a dropped run is not known: never claimed consistent");
        assertEquals(0, tooOld.consistentSequence());
    }

    @Test
    void aRunSurvivesAppliedRecordsAndAnEpochThatBeganConsistent() {
        SyncState s = SyncState.consistentAt(0);
        for (long seq = 1; seq <= 9; seq++) {
            s = s.after(rec(seq, RecordKind.WRITE, "x"), seq - 1);
        }
        assertEquals(0, s.consistentSince());
        assertTrue(s.rolledBackTo(3).consistent());
        s = s.after(begin(10, 2), 9); // consistent at BEGIN: covered, but inconsistent inside the epoch
        assertEquals(9, s.consistentSequence());
        assertTrue(s.rolledBackTo(9).consistent(), "--to-last-consistent undoes an unfinished epoch");
        assertTrue(s.rolledBackTo(4).consistent());
        s = s.after(rec(11, RecordKind.WRITE, "x"), 10).after(end(12, 2), 11);
        assertTrue(s.consistent());
        assertEquals(12, s.consistentSince());
        assertTrue(s.rolledBackTo(11).outOfSync());
    }

    @Test
    void writesOutsideTheLogFloorExactRollbacks() {
        SyncState s = SyncState.consistentAt(20).after(rec(21, RecordKind.WRITE, "x"), 20);
        SyncState changed = SyncState.writtenElsewhere(21);
        assertEquals(22, changed.exactFrom());
        assertTrue(changed.rolledBackTo(21).outOfSync(), "the current point holds the outside writes");
        assertEquals(0, changed.rolledBackTo(21).consistentSequence());
        SyncState differs = s.differenceFound(21);
        assertEquals(22, differs.exactFrom());
        assertTrue(differs.rolledBackTo(21).outOfSync(), "a no-op rollback after a verified difference stays out of sync");
        assertEquals(22, differs.writtenOutsideAfter(15).exactFrom(), "the floor never moves down");
        SyncState healed = changed.after(copyBegin(22, 9, true, 0), 21).after(rec(23, RecordKind.WRITE, "x"), 22)
                .after(end(24, 9), 23);
        assertTrue(healed.consistent());
        assertEquals(22, healed.exactFrom(), "a resync heals consistency, not the history below it");
    }

    @Test
    void appliedStatePersistsEveryField() throws Exception {
        SyncState s = new SyncState(true, true, true, false, 11, 10, 0xABCDL, 4, 3,
                ConsistentRuns.NONE.with(0, 1).with(2, 2));
        try (AppliedState a = AppliedState.open(dir)) {
            a.persist(42, s);
        }
        try (AppliedState a = AppliedState.open(dir)) {
            assertEquals(42, a.lastApplied());
            assertEquals(s, a.sync());
        }
    }
}
