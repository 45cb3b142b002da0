package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.log.CaptureRecord;
import io.tapline.log.audit.AuditEntry;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import io.tapline.log.undo.UndoConfig;
import io.tapline.log.volume.ChangeTimes;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica image changed while no replayer held it (an operator mounted its file system, which
 * replays its journal, even with -o ro, through a read-write loop device): the next open finds it out of sync with no consistent
 * point, says why in status and the audit log, and a whole-volume resync heals it. An image left
 * alone, or only read, reopens consistent; a promoted volume's close leaves no stamp.
 */
class ReplicaStampTest {
    private static final UndoConfig UNDO = new UndoConfig(16 << 10, 1L << 30, Duration.ofDays(1));

    @TempDir
    Path data;

    @Test
    void anImageLeftAloneOrReadReopensConsistent() throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        applyAllAndClose(records);
        assertTrue(Files.exists(data.resolve("vol1").resolve(ReplicaVolume.STAMP_FILE)), "stamped at close");
        Files.readAllBytes(image());
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            assertTrue(v.consistent(), v.status(false).reason());
            assertEquals(300, v.lastApplied());
            assertFalse(Files.exists(data.resolve("vol1").resolve(ReplicaVolume.STAMP_FILE)), "removed while open");
        }
        assertArrayEquals(RollbackTest.reference(records, 300), Files.readAllBytes(image()));
    }

    @Test
    void anImageWrittenWhileNoReplayerHeldItIsOutOfSyncAndAudited() throws Exception {
        applyAllAndClose(RollbackTest.history());
        ChangeTimes.movedPast(image());
        try (RandomAccessFile f = new RandomAccessFile(image().toFile(), "rw")) {
            f.seek(4096);
            f.write(0x5a);
        }
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            assertFalse(v.consistent());
            VolumeStatus s = v.status(false);
            assertEquals("out-of-sync", s.state());
            assertEquals(0, s.consistentSequence(), "no consistent point: a whole-volume resync");
            assertTrue(s.reason().contains("changed while the replayer did not hold it"), s.reason());
        }
        List<AuditEntry> audit = AuditLog.read(data.resolve("vol1"));
        AuditEntry last = audit.get(audit.size() - 1);
        assertEquals(AuditType.VERIFY, last.type());
        assertEquals("replayer", last.who());
        assertTrue(last.detail().contains("was changed while the replayer did not hold it (changed at "), last.detail());
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            assertFalse(v.consistent(), "durably out of sync: a reopen does not forget it");
        }
    }

    @Test
    void anImageWrittenWhileOpenIsNoticedBeforeTheNextGroupAndOnceOnly() throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, records.subList(0, 100)));
            v.checkOutsideWrites();
            assertTrue(v.consistent(), "its own writes are not another program's");
            ChangeTimes.movedPast(image());
            try (RandomAccessFile f = new RandomAccessFile(image().toFile(), "rw")) {
                f.seek(8192);
                f.write(0x5a);
            }
            v.apply(BatchCodec.pack(1, records.subList(100, 200)));
            assertFalse(v.consistent());
            assertEquals(0, v.status(false).consistentSequence());
            v.apply(BatchCodec.pack(2, records.subList(200, 300)));
            v.checkOutsideWrites();
            assertEquals(300, v.lastApplied());
        }
        List<AuditEntry> outside = AuditLog.read(data.resolve("vol1")).stream()
                .filter(e -> e.type() == AuditType.VERIFY && "replayer".equals(e.who())).toList();
        assertEquals(1, outside.size(), "audited once: " + outside);
        assertTrue(outside.get(0).detail().contains("was changed by another program while the replayer held it open"),
                outside.get(0).detail());
    }

    /**
     * An image deleted, truncated or extended while the replayer holds it open: its writes would go
     * to a file that is not the image (or leave a wrong size that chunk hashes read as zeros), so the
     * volume is failed and reopened from its files, which makes the image again at its size, out of
     * sync for a whole-volume resync.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"deleted", "truncated", "extended"})
    void anImageDeletedOrResizedWhileOpenFailsTheVolumeAndAReopenMakesItAgainAtItsSize(String how) throws Exception {
        long size;
        ReplicaVolume failed;
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            failed = v;
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(0, 50)));
            size = v.sizeBytes();
            switch (how) {
                case "deleted" -> Files.delete(image());
                case "truncated" -> {
                    try (RandomAccessFile f = new RandomAccessFile(image().toFile(), "rw")) {
                        f.setLength(size / 2);
                    }
                }
                default -> {
                    try (RandomAccessFile f = new RandomAccessFile(image().toFile(), "rw")) {
                        f.setLength(size * 2);
                    }
                }
            }
            assertTrue(v.checkOutsideWrites());
            assertTrue(v.broken(), "failed: reopened before it is used again");
            assertTrue(v.failure().reason().contains("reopened from its files"), v.failure().reason());
            assertFalse(v.consistent());
            assertEquals(v.failure().reason(), ReplicaVolume.failedReason(data.resolve("vol1")),
                    "kept for status --data in another process while the replayer runs");
        }
        try (ReplicaVolume v = ReplicaVolume.openExisting(data, "vol1", UNDO)) {
            v.failedBefore(failed); // as the volume's host reopens it
            assertEquals("out-of-sync", v.status(false).state(), "healed by the reopen: out of sync, so the source"
                    + " resyncs it at once, host writes or not (a carried 'failed' held the resync until one applied)");
            assertEquals(null, ReplicaVolume.failedReason(data.resolve("vol1")), "the reopen undid the failure");
            assertEquals(size, Files.size(image()), "the image is back at the volume's size");
            assertFalse(v.consistent(), "out of sync until a whole-volume resync");
            assertEquals(0, v.status(false).consistentSequence());
        }
    }

    @Test
    void anIdleOpenImageIsLookedAtWithoutAGroup() throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(0, 50)));
            ChangeTimes.movedPast(image());
            Files.setPosixFilePermissions(image(), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
            assertTrue(v.consistent());
            v.checkOutsideWrites();
            assertFalse(v.consistent(), "a chmod is a change: nothing tells it from a write");
        }
    }

    @Test
    void aPromotedVolumesCloseLeavesNoStamp() throws Exception {
        applyAllAndClose(RollbackTest.history());
        ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO);
        v.auditPromotion(VolumeRole.FIRST.promoted(300, 1, "t@h", "", 0), "promoted in a test");
        v.close();
        assertFalse(Files.exists(data.resolve("vol1").resolve(ReplicaVolume.STAMP_FILE)));
    }

    private void applyAllAndClose(List<CaptureRecord> records) throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            for (int i = 0; i < records.size(); i += 25) {
                v.apply(BatchCodec.pack(i, records.subList(i, Math.min(records.size(), i + 25))));
            }
            assertTrue(v.consistent());
        }
    }

    private Path image() {
        return data.resolve("vol1").resolve(ReplicaVolume.REPLICA_FILE);
    }

    private static JourneyMessage.Hello hello() {
        return new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", 256 << 10, 4096, "");
    }

    /** An auditor reads the host's durability request: a FUA write's entry says FUA, a NO_HOLE zeroing NO_HOLE. */
    @Test
    void theAuditLogShowsTheHostsCommandFlags() throws Exception {
        io.tapline.log.Provenance p = io.tapline.log.Provenance.INTERNAL;
        List<CaptureRecord> records = List.of(
                CaptureRecord.seal("vol1", 1, 1, io.tapline.log.RecordKind.WRITE, 0, 4, CaptureRecord.FLAG_FUA, p,
                        new byte[] {1, 2, 3, 4}),
                CaptureRecord.seal("vol1", 2, 2, io.tapline.log.RecordKind.WRITE_ZEROES, 4096, 4096,
                        CaptureRecord.FLAG_NO_HOLE, p, null),
                CaptureRecord.seal("vol1", 3, 3, io.tapline.log.RecordKind.WRITE, 8192, 4, 0, p, new byte[4]));
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, records));
        }
        List<String> details = AuditLog.read(data.resolve("vol1")).stream().filter(e -> e.sequence() >= 1
                && e.type() == AuditType.RECORD).map(AuditEntry::detail).toList();
        assertEquals(List.of("FUA", "NO_HOLE", ""), details);
    }
}
