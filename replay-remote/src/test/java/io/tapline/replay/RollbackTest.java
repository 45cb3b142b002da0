package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.undo.UndoConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Rollback and point-in-time images against an independently built reference: records 1..N
 * applied to an empty byte array.
 */
class RollbackTest {
    private static final long SIZE = 256 << 10;
    private static final Provenance PROV = new Provenance(Bus.WEDGE, "10.0.0.1:4000", "vol1", 1, 0, 1);
    private static final UndoConfig SMALL_SEGMENTS = new UndoConfig(16 << 10, 1L << 30, Duration.ofDays(1));
    private static final long T0 = 1_800_000_000_000_000_000L;

    @TempDir
    Path data;
    @TempDir
    Path scratch;

    /** 300 records: overlapping writes (also inside one batch), zeroes, discards, flushes, marks. */
    static List<CaptureRecord> history() {
        Random rnd = new Random(42);
        List<CaptureRecord> out = new ArrayList<>();
        for (long seq = 1; seq <= 300; seq++) {
            long time = T0 + seq * 1_000_000_000L;
            int pick = rnd.nextInt(20);
            long offset = rnd.nextInt((int) SIZE - 70_000) & ~511L;
            CaptureRecord r;
            if (seq % 50 == 0) {
                r = CaptureRecord.seal("vol1", seq, time, RecordKind.MARK, 0, 0, 0, PROV,
                        ("m" + seq).getBytes(StandardCharsets.UTF_8));
            } else if (pick == 0) {
                r = CaptureRecord.seal("vol1", seq, time, RecordKind.FLUSH, 0, 0, 0, PROV, null);
            } else if (pick == 1) {
                r = CaptureRecord.seal("vol1", seq, time, RecordKind.WRITE_ZEROES, offset, 4096 * (1 + rnd.nextInt(8)),
                        0, PROV, null);
            } else if (pick == 2) {
                r = CaptureRecord.seal("vol1", seq, time, RecordKind.DISCARD, offset, 65536, 0, PROV, null);
            } else {
                byte[] p = new byte[512 * (1 + rnd.nextInt(16))];
                rnd.nextBytes(p);
                r = CaptureRecord.seal("vol1", seq, time, RecordKind.WRITE, offset, p.length, 0, PROV, p);
            }
            out.add(r);
        }
        return out;
    }

    static byte[] reference(List<CaptureRecord> records, long upTo) {
        byte[] img = new byte[(int) SIZE];
        for (CaptureRecord r : records) {
            if (r.sequence() > upTo) {
                break;
            }
            switch (r.kind()) {
                case WRITE -> System.arraycopy(r.payload(), 0, img, (int) r.offsetBytes(), r.payload().length);
                case WRITE_ZEROES, DISCARD -> Arrays.fill(img, (int) r.offsetBytes(),
                        (int) (r.offsetBytes() + r.lengthBytes()), (byte) 0);
                default -> { }
            }
        }
        return img;
    }

    private static JourneyMessage.Hello hello() {
        return new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", SIZE, 4096, "");
    }

    private ReplicaVolume applyAll(List<CaptureRecord> records, UndoConfig cfg) throws Exception {
        ReplicaVolume v = ReplicaVolume.open(data, hello(), cfg);
        for (int i = 0; i < records.size(); i += 25) {
            v.apply(BatchCodec.pack(i, records.subList(i, Math.min(records.size(), i + 25))));
        }
        return v;
    }

    private byte[] replica() throws IOException {
        return Files.readAllBytes(data.resolve("vol1/replica.img"));
    }

    @Test
    void pointInTimeImagesEqualIndependentReplays() throws Exception {
        List<CaptureRecord> records = history();
        try (ReplicaVolume v = applyAll(records, SMALL_SEGMENTS)) {
            assertArrayEquals(reference(records, 300), replica());
            for (long n : new long[] {0, 1, 2, 49, 50, 123, 250, 299, 300}) {
                Path out = scratch.resolve("img-" + n);
                assertEquals(n, PointInTimeImage.write(data, "vol1", AdminRequest.TO_SEQUENCE, n, "", out));
                assertArrayEquals(reference(records, n), Files.readAllBytes(out), "image at seq " + n);
            }
            Path byTime = scratch.resolve("img-time");
            // Between the captures of 170 and 171: the newest record at or before is 170.
            assertEquals(170, PointInTimeImage.write(data, "vol1", AdminRequest.TO_TIME,
                    T0 + 170 * 1_000_000_000L + 500_000_000L, "", byTime));
            assertArrayEquals(reference(records, 170), Files.readAllBytes(byTime));
            Path byMark = scratch.resolve("img-mark");
            assertEquals(100, PointInTimeImage.write(data, "vol1", AdminRequest.TO_MARK, 0, "m100", byMark));
            assertArrayEquals(reference(records, 100), Files.readAllBytes(byMark));
            assertArrayEquals(reference(records, 300), replica(), "images never touch the replica");
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 1, 77, 150, 299, 300})
    void rollbackToSequenceEqualsIndependentReplay(long n) throws Exception {
        List<CaptureRecord> records = history();
        try (ReplicaVolume v = applyAll(records, SMALL_SEGMENTS)) {
            v.rollback(v.resolveTarget(AdminRequest.TO_SEQUENCE, n, ""), "tester", (d, t) -> { });
            assertArrayEquals(reference(records, n), replica());
            assertEquals(n, v.lastApplied());
            assertTrue(v.pausedReason().contains("volume vol1 rolled back to seq " + n), v.pausedReason());
            assertEquals((int) (n / 50), v.marks().marks().size(), "marks above the target are gone");
        }
    }

    @Test
    void rollbackToTimeAndMarkThenFurtherBack() throws Exception {
        List<CaptureRecord> records = history();
        try (ReplicaVolume v = applyAll(records, SMALL_SEGMENTS)) {
            assertEquals(0, v.resolveTarget(AdminRequest.TO_TIME, T0, ""), "before the first write: seq 0");
            v.rollback(v.resolveTarget(AdminRequest.TO_TIME, T0 + 220 * 1_000_000_000L, ""), "t", (d, t) -> { });
            assertEquals(220, v.lastApplied());
            assertArrayEquals(reference(records, 220), replica());
            v.rollback(v.resolveTarget(AdminRequest.TO_MARK, 0, "m150"), "t", (d, t) -> { });
            assertArrayEquals(reference(records, 150), replica());
            RefusedException e = assertThrows(RefusedException.class,
                    () -> v.resolveTarget(AdminRequest.TO_MARK, 0, "m200"));
            assertTrue(e.getMessage().contains("no mark m200 on volume vol1 at or before its seq 150"), e.getMessage());
            assertTrue(e.getMessage().contains("a rollback to before it dropped it"), e.getMessage());
            e = assertThrows(RefusedException.class, () -> v.resolveTarget(AdminRequest.TO_SEQUENCE, 151, ""));
            assertTrue(e.getMessage().contains("expected: 0..150"), e.getMessage());
            // To where it is: no byte changes, but replication pauses, so the audit log says who did it.
            v.rollback(v.resolveTarget(AdminRequest.TO_SEQUENCE, 150, ""), "auditor-visible", (d, t) -> { });
        }
        List<io.tapline.log.audit.AuditEntry> rollbacks = io.tapline.log.audit.AuditLog.read(data.resolve("vol1"))
                .stream().filter(a -> a.type() == io.tapline.log.audit.AuditType.ROLLBACK).toList();
        assertEquals(3, rollbacks.size(), rollbacks.toString());
        assertTrue(rollbacks.get(2).detail().startsWith("rollback from seq 150 to seq 150"), rollbacks.get(2).detail());
    }

    @Test
    void retentionShrinksTheWindowAndRefusesOlderTargets() throws Exception {
        List<CaptureRecord> records = history();
        UndoConfig tight = new UndoConfig(16 << 10, 64 << 10, Duration.ofDays(1));
        try (ReplicaVolume v = applyAll(records, tight)) {
            long oldest = v.window().oldestReachableSequence();
            assertTrue(oldest > 0 && oldest < 300, "window starts at " + oldest);
            assertTrue(v.window().bytes() <= (64 << 10) + (32 << 10), "bytes " + v.window().bytes());
            RefusedException e = assertThrows(RefusedException.class,
                    () -> v.resolveTarget(AdminRequest.TO_SEQUENCE, oldest - 1, ""));
            assertTrue(e.getMessage().contains("older than the rollback window"), e.getMessage());
            v.rollback(v.resolveTarget(AdminRequest.TO_SEQUENCE, oldest, ""), "t", (d, t) -> { });
            assertArrayEquals(reference(records, oldest), replica(), "the replica stayed current under retention");
        }
    }

    /** A crash at the k-th undo record of a rollback: reopening completes it. */
    @ParameterizedTest
    @ValueSource(ints = {1, 2, 17, 60, 199})
    void interruptedRollbackIsCompletedOnReopen(int crashAfter) throws Exception {
        List<CaptureRecord> records = history();
        ReplicaVolume v = applyAll(records, SMALL_SEGMENTS);
        try {
            assertThrows(IllegalStateException.class, () -> v.rollback(90, "t", (d, t) -> {
                if (d == crashAfter) {
                    throw new IllegalStateException("simulated crash");
                }
            }));
        } finally {
            v.close();
        }
        assertTrue(Files.exists(data.resolve("vol1/rollback.intent")));
        try (ReplicaVolume reopened = ReplicaVolume.open(data, hello(), SMALL_SEGMENTS)) {
            assertEquals(90, reopened.lastApplied());
            assertArrayEquals(reference(records, 90), replica());
            assertFalse(Files.exists(data.resolve("vol1/rollback.intent")));
            assertTrue(reopened.pausedReason() != null);
        }
    }

    /** A batch half written when the replayer died is undone when the volume reopens. */
    @Test
    void aDamagedMarkIndexIsRebuiltFromTheAuditLogAndTheVolumeStaysUsable() throws Exception {
        List<CaptureRecord> records = history();
        try (ReplicaVolume v = applyAll(records, SMALL_SEGMENTS)) {
            v.rollback(v.resolveTarget(AdminRequest.TO_SEQUENCE, 220, ""), "t", (d, t) -> { });
        }
        java.nio.file.Path index = data.resolve("vol1").resolve(io.tapline.log.undo.MarkIndex.FILE);
        java.nio.file.Files.write(index, new byte[0]); // damaged: a disk error, an editor
        RollbackWindow w = RollbackWindow.read(data, "vol1");
        assertTrue(w.marks().stream().anyMatch(m -> m.name().equals("m150")), w.marks().toString());
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), SMALL_SEGMENTS)) {
            v.rollback(v.resolveTarget(AdminRequest.TO_MARK, 0, "m150"), "t", (d, t) -> { });
            assertArrayEquals(reference(records, 150), replica());
        }
        assertTrue(io.tapline.log.undo.MarkIndex.read(data.resolve("vol1")).find("m150").isPresent(), "rewritten");
        try (var files = java.nio.file.Files.list(data.resolve("vol1"))) {
            assertTrue(files.anyMatch(f -> f.getFileName().toString().startsWith("marks.idx.damaged-")),
                    "the damaged file kept aside");
        }
    }

    @Test
    void anUndoLogWhoseNewestSegmentIsGoneReachesNothingBelowTheAppliedSequence() throws Exception {
        List<CaptureRecord> records = history();
        try (ReplicaVolume v = applyAll(records, SMALL_SEGMENTS)) {
            assertTrue(v.lastApplied() > 100);
        }
        java.nio.file.Path undoDir = data.resolve("vol1").resolve("undo");
        List<java.nio.file.Path> segments;
        try (var files = java.nio.file.Files.list(undoDir)) {
            segments = files.filter(p -> p.toString().endsWith(".undo")).sorted().toList();
        }
        assertTrue(segments.size() > 2, segments.toString());
        java.nio.file.Files.delete(segments.get(segments.size() - 1)); // lost: a disk error, a mistaken rm
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), SMALL_SEGMENTS)) {
            RefusedException e = assertThrows(RefusedException.class,
                    () -> v.resolveTarget(AdminRequest.TO_SEQUENCE, 50, ""));
            assertTrue(e.getMessage().contains("its newest records are missing"), e.getMessage());
        }
        RefusedException image = assertThrows(RefusedException.class, () -> PointInTimeImage.image(data, "vol1",
                AdminRequest.TO_SEQUENCE, 50, "", scratch.resolve("at50.img"), PointInTimeImage.Progress.NONE));
        assertTrue(image.getMessage().contains("its newest records are missing"), image.getMessage());
    }

    @Test
    void halfAppliedBatchIsUndoneOnReopen() throws Exception {
        List<CaptureRecord> records = history();
        try (ReplicaVolume v = applyAll(records.subList(0, 100), SMALL_SEGMENTS)) {
            assertEquals(100, v.lastApplied());
        }
        // Simulate: before-images of 101..125 durable, some of the batch on the replica, state not persisted.
        Files.delete(data.resolve("vol1").resolve(ReplicaVolume.STAMP_FILE)); // a crash leaves no close-time stamp
        try (io.tapline.log.undo.UndoLog undo = io.tapline.log.undo.UndoLog.open(data.resolve("vol1/undo"),
                SMALL_SEGMENTS, java.time.Clock.systemUTC());
                io.tapline.log.volume.VolumeFile replica = io.tapline.log.volume.VolumeFile.openExisting(
                        data.resolve("vol1/replica.img"))) {
            List<CaptureRecord> batch = records.subList(100, 125);
            io.tapline.log.undo.BeforeImages.append(replica, batch, undo);
            undo.sync();
            for (CaptureRecord r : batch.subList(0, 13)) {
                if (r.kind() == RecordKind.WRITE) {
                    replica.write(r.offsetBytes(), r.payload());
                }
            }
        }
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), SMALL_SEGMENTS)) {
            assertEquals(100, v.lastApplied());
            assertArrayEquals(reference(records, 100), replica());
            v.apply(BatchCodec.pack(9, records.subList(100, 300)));
            assertArrayEquals(reference(records, 300), replica());
            v.rollback(120, "t", (d, t) -> { });
            assertArrayEquals(reference(records, 120), replica());
        }
    }

    @Test
    void adminRollbackPausesTheVolumeUntilResumed() throws Exception {
        List<CaptureRecord> records = history();
        ReplayServer server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data)
                .withUndo(SMALL_SEGMENTS));
        try {
            JourneyTestClient source = new JourneyTestClient(server.boundAddress());
            source.send(hello());
            assertEquals(new JourneyMessage.Welcome(0), source.next());
            JourneyMessage.Batch first = BatchCodec.pack(1, records.subList(0, 250));
            source.send(first);
            assertEquals(new JourneyMessage.Ack(1, 250, first.crc32c()), source.next());
            JourneyMessage.AdminDone unknownMark = AdminClient.request(server.boundAddress(), new AdminRequest("",
                    "alice@h", "vol1", AdminRequest.ROLLBACK, AdminRequest.TO_MARK, 0, "nosuch"), 10_000, (d, t) -> { });
            assertFalse(unknownMark.ok());
            assertTrue(unknownMark.message().startsWith("no mark nosuch"), unknownMark.message());
            JourneyMessage.Batch b = BatchCodec.pack(2, records.subList(250, 300));
            source.send(b);
            assertEquals(new JourneyMessage.Ack(2, 300, b.crc32c()), source.next(),
                    "a refused rollback leaves the source's session alone");

            List<long[]> progress = new ArrayList<>();
            JourneyMessage.AdminDone done = AdminClient.request(server.boundAddress(), new AdminRequest("", "alice@h",
                    "vol1", AdminRequest.ROLLBACK, AdminRequest.TO_SEQUENCE, 140, ""), 10_000,
                    (d, t) -> progress.add(new long[] {d, t}));
            assertTrue(done.ok(), done.message());
            assertEquals(140, done.sequence());
            assertFalse(progress.isEmpty());
            assertEquals(160, progress.get(progress.size() - 1)[1]);
            assertArrayEquals(reference(records, 140), replica());
            JourneyMessage ended = source.next();
            assertTrue(ended instanceof JourneyMessage.Error e && e.message().contains("paused for rollback by alice@h"),
                    ended.toString());
            source.close();

            JourneyTestClient again = new JourneyTestClient(server.boundAddress());
            again.send(hello());
            JourneyMessage refused = again.next();
            assertEquals(new JourneyMessage.Refused("volume vol1 rolled back to seq 140; resume with `tapline resume`"
                    + " (the source then re-sends or resyncs what the replica lacks)"), refused);
            again.close();

            JourneyMessage.AdminDone resumed = AdminClient.request(server.boundAddress(), new AdminRequest("", "alice@h",
                    "vol1", AdminRequest.RESUME, 0, 0, ""), 10_000, (d, t) -> { });
            assertTrue(resumed.ok(), resumed.message());
            JourneyTestClient third = new JourneyTestClient(server.boundAddress());
            third.send(hello());
            assertEquals(new JourneyMessage.Welcome(140), third.next());
            third.close();

            JourneyMessage.AdminDone tooOld = AdminClient.request(server.boundAddress(), new AdminRequest("", "bob",
                    "vol1", AdminRequest.ROLLBACK, AdminRequest.TO_SEQUENCE, 141, ""), 10_000, (d, t) -> { });
            assertFalse(tooOld.ok());
            assertTrue(tooOld.message().contains("expected: 0..140"), tooOld.message());
        } finally {
            server.close();
        }
    }

    /**
     * A volume whose files cannot be opened (its audit log fails its chain check) applies nothing
     * while the replayer runs: status --data (read from the files) says failed with the reason,
     * not the consistent its files alone said; a later successful open removes it.
     */
    @Test
    void aVolumeWhoseFilesCannotBeOpenedIsFailedInStatusWhileTheReplayerRuns() throws Exception {
        ReplayConfig cfg = ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0), data).withUndo(SMALL_SEGMENTS);
        ReplayServer server = ReplayServer.start(cfg);
        try {
            JourneyTestClient source = new JourneyTestClient(server.boundAddress());
            source.send(hello());
            assertEquals(new JourneyMessage.Welcome(0), source.next());
            JourneyMessage.Batch b = BatchCodec.pack(1, history().subList(0, 20));
            source.send(b);
            assertEquals(new JourneyMessage.Ack(1, 20, b.crc32c()), source.next());
            source.close();
        } finally {
            server.close();
        }
        java.nio.file.Path auditLog = data.resolve("vol1/audit/audit.log");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(auditLog,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 10); // its newest entry cut: the chain fails its check
        }
        server = ReplayServer.start(cfg);
        try {
            JourneyTestClient source = new JourneyTestClient(server.boundAddress());
            source.send(hello());
            JourneyMessage refused = source.next();
            assertFalse(refused instanceof JourneyMessage.Welcome, refused.toString());
            source.close();
            VolumeStatus s = ReplayServer.readVolumeStatus(data).get(0);
            assertEquals("failed", s.state(), s.toString());
            assertTrue(s.reason().startsWith("cannot open the volume's files: audit log"), s.reason());
        } finally {
            server.close();
        }
    }
}
