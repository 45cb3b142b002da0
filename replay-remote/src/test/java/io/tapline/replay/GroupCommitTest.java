package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocolException;
import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.undo.UndoConfig;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroupCommitTest {
    private static final long SIZE = 1 << 20;
    private static final Provenance PROV = new Provenance(Bus.WEDGE, "10.0.0.1:4000", "vol1", 1, 0, 1);

    @TempDir
    Path dir;

    private static JourneyMessage.Batch batch(long id, long firstSeq, int count) {
        List<CaptureRecord> records = new ArrayList<>();
        for (long s = firstSeq; s < firstSeq + count; s++) {
            byte[] p = new byte[4096];
            Arrays.fill(p, (byte) s);
            // Overlapping offsets across and inside batches: the group's before-images must chain.
            records.add(CaptureRecord.seal("vol1", s, s, RecordKind.WRITE, (s % 5) * 2048, 4096, 0, PROV, p));
        }
        return BatchCodec.pack(id, records);
    }

    private ReplicaVolume open() throws Exception {
        return ReplicaVolume.open(dir, new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src", "vol1", SIZE, 4096, ""), UndoConfig.DEFAULT);
    }

    @Test
    void groupAcksEachBatchAsIfAppliedOneByOneAndRollsBackExactly() throws Exception {
        byte[] atThree;
        try (ReplicaVolume v = open()) {
            assertEquals(3, v.apply(batch(1, 1, 3)));
            atThree = Files.readAllBytes(dir.resolve("vol1/replica.img"));
            // batch 2 re-sends 2..5, batch 3 is 6..8, batch 4 is a re-sent duplicate of 1..3
            long[] acks = v.applyGroup(List.of(batch(2, 2, 4), batch(3, 6, 3), batch(4, 1, 3)));
            assertArrayEquals(new long[] {5, 8, 8}, acks);
            assertEquals(8, v.lastApplied());
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve("vol1/replica.img")));
            assertEquals((byte) 8, b.get(3 * 2048), "seq 8 wrote last at offset 6144");
            v.rollback(3, "test", (d, t) -> { });
        }
        assertArrayEquals(atThree, Files.readAllBytes(dir.resolve("vol1/replica.img")));
    }

    /**
     * The audit digests are computed where a batch is received, per record of the batch; the group
     * skips records applied before (re-sent ones): each entry must still carry its own record's
     * digest, not a neighbour's.
     */
    @Test
    void auditDigestsFollowTheirRecordsPastReSentOnes() throws Exception {
        try (ReplicaVolume v = open()) {
            v.apply(batch(1, 1, 3));
            // the second one queued as it came (past a session's unpack-ahead bound): unpacked by the apply
            v.complete(v.stageReceived(List.of(ReceivedBatch.unpack(batch(2, 2, 4)), ReceivedBatch.later(batch(3, 6, 3)),
                    ReceivedBatch.unpack(batch(4, 1, 3)))));
        }
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        List<io.tapline.log.audit.AuditEntry> entries = new ArrayList<>();
        for (io.tapline.log.audit.AuditEntry e : io.tapline.log.audit.AuditLog.read(dir.resolve("vol1"))) {
            if (e.type() == io.tapline.log.audit.AuditType.RECORD) {
                entries.add(e);
            }
        }
        assertEquals(8, entries.size(), "one entry per applied record, none for the re-sent ones");
        for (io.tapline.log.audit.AuditEntry e : entries) {
            byte[] p = new byte[4096];
            Arrays.fill(p, (byte) e.sequence());
            assertArrayEquals(sha.digest(p), e.payloadDigest(), "seq " + e.sequence());
        }
    }

    @Test
    void damagedBatchQueuedAsItCameIsRefusedAtItsPlace() throws Exception {
        JourneyMessage.Batch good = batch(2, 3, 2);
        byte[] body = good.body().clone();
        body[body.length - 1] ^= 1;
        JourneyMessage.Batch damaged = new JourneyMessage.Batch(good.batchId(), good.firstSequence(), good.lastSequence(),
                good.recordCount(), good.compression(), good.uncompressedLength(), good.crc32c(), body);
        try (ReplicaVolume v = open()) {
            ReplicaVolume.StagedGroup g = v.stageReceived(List.of(ReceivedBatch.unpack(batch(1, 1, 2)),
                    ReceivedBatch.later(damaged), ReceivedBatch.unpack(batch(3, 5, 1))));
            ReplicaVolume.GroupFailure e = assertThrows(ReplicaVolume.GroupFailure.class, () -> v.complete(g));
            assertArrayEquals(new long[] {2}, e.appliedAcks());
            assertTrue(e.getMessage().contains("crc32c"), e.getMessage());
            assertEquals(2, v.lastApplied());
        }
    }

    @Test
    void holeInTheGroupAppliesTheBatchesBeforeItAndNamesIt() throws Exception {
        try (ReplicaVolume v = open()) {
            ReplicaVolume.GroupFailure e = assertThrows(ReplicaVolume.GroupFailure.class,
                    () -> v.applyGroup(List.of(batch(1, 1, 2), batch(2, 3, 2), batch(3, 9, 1), batch(4, 5, 1))));
            assertArrayEquals(new long[] {2, 4}, e.appliedAcks());
            assertTrue(e.getMessage().contains("batch 3 starts at 9 (expected: <= 5"), e.getMessage());
            assertEquals(4, v.lastApplied());
            JourneyProtocolException alone = assertThrows(JourneyProtocolException.class,
                    () -> v.applyGroup(List.of(batch(5, 7, 1))));
            assertTrue(!(alone instanceof ReplicaVolume.GroupFailure), "nothing applied: the plain failure");
        }
    }

    @Test
    void aHoleBeforeAGapSayingTheSourceLostThoseRecordsIsCrossedOutOfSync() throws Exception {
        try (ReplicaVolume v = open()) {
            assertEquals(3, v.apply(batch(1, 1, 3)));
            byte[] why = "power cut".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            CaptureRecord plainGap = CaptureRecord.seal("vol1", 10, 10, RecordKind.GAP, 0, 0, 0, PROV, why);
            assertThrows(JourneyProtocolException.class, () -> v.apply(BatchCodec.pack(2, List.of(plainGap))),
                    "a hole before an ordinary GAP is never skipped");
            assertEquals(3, v.lastApplied());
            CaptureRecord lost = CaptureRecord.seal("vol1", 10, 10, RecordKind.GAP, 0, 0,
                    CaptureRecord.FLAG_RECORDS_LOST, PROV, why);
            assertEquals(10, v.apply(BatchCodec.pack(3, List.of(lost))));
            assertEquals(11, v.apply(batch(4, 11, 1)));
            VolumeStatus status = v.status(true);
            assertTrue(status.outOfSync(), "records are missing: " + status);
            assertEquals(3, status.consistentSequence(), "consistent at the last record before the hole");
        }
    }
}
