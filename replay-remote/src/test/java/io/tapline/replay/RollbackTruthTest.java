package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.ResyncEpoch;
import io.tapline.log.undo.UndoConfig;
import io.tapline.log.volume.ChangeTimes;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a rollback claims about the image it leaves: consistent only inside the replica's last
 * unbroken consistent run, and refused where the undo log cannot rebuild the replica's own
 * earlier image (it was written outside the log after that point).
 */
class RollbackTruthTest {
    private static final UndoConfig UNDO = new UndoConfig(16 << 10, 1L << 30, Duration.ofDays(1));

    @TempDir
    Path data;
    @TempDir
    Path scratch;

    @Test
    void aRollbackIntoAHealedGapAndResyncIsNotCalledConsistent() throws Exception {
        List<CaptureRecord> records = new ArrayList<>(RollbackTest.history().subList(0, 100));
        records.add(seal(101, RecordKind.GAP, "buffer full"));
        records.add(seal(102, RecordKind.RESYNC_BEGIN, new ResyncEpoch(7, true, "test", 0).text()));
        for (long seq = 103; seq <= 110; seq++) {
            records.add(seq == 106 ? seal(106, RecordKind.FLUSH, "") : write(seq)); // a host's FLUSH inside the epoch
        }
        records.add(seal(111, RecordKind.RESYNC_END, new ResyncEpoch(7, true, "").text()));
        for (long seq = 112; seq <= 130; seq++) {
            records.add(write(seq));
        }
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, records));
            assertTrue(v.consistent(), "the full copy healed the gap: " + v.status(false).reason());
            assertEquals(List.of(new RollbackWindow.Run(0, 100), new RollbackWindow.Run(111, 130)),
                    RollbackWindow.read(data, "vol1").consistentRuns(), "where a rollback is consistent, for the operator");
            List<Long> candidates = ConsistentPoints.read(data, "vol1").points();
            assertFalse(candidates.contains(106L), "--until-check never judges a barrier inside a resync: " + candidates);
            assertTrue(candidates.contains(100L) || candidates.stream().anyMatch(p -> p < 100), candidates.toString());

            PointInTimeImage.Image inRun = PointInTimeImage.image(data, "vol1", AdminRequest.TO_SEQUENCE, 95, "",
                    scratch.resolve("i95"), PointInTimeImage.Progress.NONE);
            assertTrue(inRun.consistent(), "seq 95 lies in the run before the gap: " + inRun);
            assertArrayEquals(RollbackTest.reference(records, 95), Files.readAllBytes(scratch.resolve("i95")));
            PointInTimeImage.Image inEpoch = PointInTimeImage.image(data, "vol1", AdminRequest.TO_SEQUENCE, 106, "",
                    scratch.resolve("i106"), PointInTimeImage.Progress.NONE);
            assertFalse(inEpoch.consistent(), "an image inside the resync is no state the source had: " + inEpoch);
            assertTrue(inEpoch.outOfSyncBy().startsWith("missing data since seq 101"), inEpoch.outOfSyncBy());
            assertTrue(PointInTimeImage.image(data, "vol1", AdminRequest.TO_SEQUENCE, 125, "", scratch.resolve("i125"),
                    PointInTimeImage.Progress.NONE)
                    .consistent(), "after the END");

            v.rollback(v.resolveTarget(AdminRequest.TO_SEQUENCE, 120, ""), "t", (d, t) -> { });
            assertEquals("the replica is consistent there", v.stateHere());
            assertTrue(v.consistent(), "seq 120 lies in the run that began at the END: " + v.status(false).reason());
            VolumeStatus fromFiles = ReplayServer.readVolumeStatus(data).get(0);
            assertEquals(VolumeStatus.PAUSED, fromFiles.state(), "status --data says paused, not consistent");
            assertTrue(fromFiles.reason() != null && !fromFiles.reason().isBlank(), fromFiles.toString());

            v.rollback(v.resolveTarget(AdminRequest.TO_SEQUENCE, 105, ""), "t", (d, t) -> { });
            assertTrue(v.stateHere().startsWith("the replica is out of sync there (missing data since seq 101"),
                    "the rollback's answer says so: " + v.stateHere());
            v.resume("t");
            VolumeStatus s = v.status(false);
            assertFalse(v.consistent(), "seq 105 was in the middle of the resync");
            assertEquals(100, s.consistentSequence(), "the run before the gap");
            assertTrue(s.reason().contains("missing data since seq 101"), s.reason());
        }
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            assertFalse(v.consistent(), "durably");
            v.rollback(v.resolveTarget(AdminRequest.TO_LAST_CONSISTENT, 0, ""), "t", (d, t) -> { });
            assertEquals(100, v.lastApplied());
            assertArrayEquals(RollbackTest.reference(records, 100), Files.readAllBytes(data.resolve("vol1")
                    .resolve(ReplicaVolume.REPLICA_FILE)));
            v.resume("t");
            assertTrue(v.consistent(), "inside the run before the gap: " + v.status(false).reason());
        }
    }

    @Test
    void aReplicaWrittenOutsideTheLogRollsBackOnlyToPointsItCanRebuild() throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            apply(v, records.subList(0, 200));
        }
        Path image = data.resolve("vol1").resolve(ReplicaVolume.REPLICA_FILE);
        ChangeTimes.movedPast(image);
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(4096);
            f.write(0x5a); // another program, while no replayer held the image
        }
        byte[] at250;
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            assertFalse(v.consistent());
            apply(v, records.subList(200, 250));
            at250 = Files.readAllBytes(image);
            apply(v, records.subList(250, 300));

            RefusedException e = assertThrows(RefusedException.class,
                    () -> v.resolveTarget(AdminRequest.TO_SEQUENCE, 150, ""));
            assertTrue(e.getMessage().contains("target seq 150 cannot be rebuilt: volume vol1 was written outside the"
                    + " log after seq 200"), e.getMessage());
            assertTrue(e.getMessage().contains("the oldest exact point is seq 201"), e.getMessage());
            assertThrows(RefusedException.class, () -> v.resolveTarget(AdminRequest.TO_MARK, 0, "m200"),
                    "a mark below the floor names a point that cannot be rebuilt either");
            assertThrows(RefusedException.class, () -> PointInTimeImage.write(data, "vol1",
                    AdminRequest.TO_SEQUENCE, 200, "", scratch.resolve("img")));

            RollbackWindow w = RollbackWindow.read(data, "vol1");
            assertEquals(201, w.oldestReachableSequence());
            assertEquals(201, w.exactFromSequence());
            assertEquals(records.get(201).captureTimeNanos(), w.oldestTimeNanos(), "the window opens before seq 202");
            assertTrue(ConsistentPoints.read(data, "vol1").points().get(0) >= 201, "until-check bisects exact points only");

            Path img = scratch.resolve("img-250");
            PointInTimeImage.Image made = PointInTimeImage.image(data, "vol1", AdminRequest.TO_SEQUENCE, 250, "", img,
                    PointInTimeImage.Progress.NONE);
            assertEquals(250, made.sequence());
            assertFalse(made.consistent(), "it holds the outside write: " + made);
            assertTrue(made.outOfSyncBy().contains("written outside the log"), made.outOfSyncBy());
            assertArrayEquals(at250, Files.readAllBytes(img), "the replica's own image at 250, outside write included");
            v.rollback(v.resolveTarget(AdminRequest.TO_SEQUENCE, 250, ""), "t", (d, t) -> { });
            assertArrayEquals(at250, Files.readAllBytes(image));
            assertFalse(v.consistent(), "still holds the outside write");
        }
    }

    @Test
    void aRollbackUnderWayIsNoConsistentStateInTheWindow() throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            apply(v, RollbackTest.history().subList(0, 100));
        }
        assertEquals("consistent", RollbackWindow.read(data, "vol1").replicaState());
        // What a replayer killed in the middle of a rollback to seq 10 leaves beside the replica.
        new ControlFiles(10, 100, System.currentTimeMillis(), "alice").write(data.resolve("vol1"), ControlFiles.INTENT);
        RollbackWindow w = RollbackWindow.read(data, "vol1");
        assertTrue(w.rollbackInProgress());
        assertEquals(RollbackWindow.ROLLING_BACK, w.replicaState(), "half rolled back is neither 100 nor 10");
    }

    @Test
    void aTargetInsideASequenceJumpIsRefusedNotMislabelled() throws Exception {
        // Probe Q D1: after a resync's jump 7313 -> 38356, "rollback --to-seq 38000" rolled back to 7313's
        // bytes and labelled them 38000, a state the replica never held.
        List<CaptureRecord> before = new ArrayList<>(RollbackTest.history().subList(0, 100));
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            applyWithJump(v, before);
            assertEquals(161, v.lastApplied());
            RefusedException e = assertThrows(RefusedException.class,
                    () -> v.resolveTarget(AdminRequest.TO_SEQUENCE, 120, ""));
            assertTrue(e.getMessage().contains("target seq 120 was never applied on volume vol1: its sequence jumped"
                    + " from 100 to 150"), e.getMessage());
            assertThrows(RefusedException.class, () -> PointInTimeImage.image(data, "vol1", AdminRequest.TO_SEQUENCE,
                    149, "", scratch.resolve("i149"), PointInTimeImage.Progress.NONE), "image refuses it alike");
            assertEquals(100, v.resolveTarget(AdminRequest.TO_SEQUENCE, 100, ""), "either side of the jump is a point");
            try (io.tapline.log.undo.UndoLog undo = io.tapline.log.undo.UndoLog.openReadOnly(
                    data.resolve("vol1").resolve("undo"))) {
                assertEquals(List.of(100L, 150L), java.util.Arrays.stream(undo.jumps().get(0)).boxed().toList(),
                        "what window shows (probe T T6)");
            }
            assertEquals(150, v.resolveTarget(AdminRequest.TO_SEQUENCE, 150, ""));
            v.rollback(v.resolveTarget(AdminRequest.TO_SEQUENCE, 100, ""), "t", (d, t) -> { });
            assertEquals(100, v.lastApplied());
            assertArrayEquals(RollbackTest.reference(before, 100), Files.readAllBytes(data.resolve("vol1")
                    .resolve(ReplicaVolume.REPLICA_FILE)));
        }
    }

    /**
     * A jump below the oldest exact point (the replica written outside the log after it): the refusal
     * names the exact point, not the jump's ends, which are refused too (probe X D5).
     */
    @Test
    void aTargetInsideAJumpBelowTheOldestExactPointNamesThatPoint() throws Exception {
        List<CaptureRecord> before = new ArrayList<>(RollbackTest.history().subList(0, 100));
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            applyWithJump(v, before);
        }
        Path image = data.resolve("vol1").resolve(ReplicaVolume.REPLICA_FILE);
        ChangeTimes.movedPast(image);
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(4096);
            f.write(0x5a); // another program, while no replayer held the image
        }
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(2, List.of(write(162), write(163))));
            RefusedException e = assertThrows(RefusedException.class,
                    () -> v.resolveTarget(AdminRequest.TO_SEQUENCE, 120, ""));
            assertTrue(e.getMessage().contains("the oldest exact point is seq 162"), e.getMessage());
            RefusedException image120 = assertThrows(RefusedException.class, () -> PointInTimeImage.image(data, "vol1",
                    AdminRequest.TO_SEQUENCE, 120, "", scratch.resolve("i120"), PointInTimeImage.Progress.NONE));
            assertTrue(image120.getMessage().contains("the oldest exact point is seq 162"), image120.getMessage());
        }
    }

    @Test
    void aReplicaThatBeganAtAResyncsJumpHasNoPointBelowIt() throws Exception {
        // Probe T T1: a replica that joined at a jump 0 -> 150 labelled seq 0's zeroes "149".
        List<CaptureRecord> records = new ArrayList<>();
        records.add(seal(150, RecordKind.RESYNC_BEGIN, new ResyncEpoch(3, true, "test", 0).text()));
        for (long seq = 151; seq <= 160; seq++) {
            records.add(write(seq));
        }
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, records));
            RefusedException e = assertThrows(RefusedException.class,
                    () -> v.resolveTarget(AdminRequest.TO_SEQUENCE, 149, ""));
            assertTrue(e.getMessage().contains("may never have been applied"), e.getMessage());
            assertEquals(150, v.resolveTarget(AdminRequest.TO_SEQUENCE, 150, ""));
        }
        try (io.tapline.log.undo.UndoLog undo = io.tapline.log.undo.UndoLog.openReadOnly(
                data.resolve("vol1").resolve("undo"))) {
            assertEquals(0, undo.jumps().size(), "no jump between held records here: the window starts at it");
        }
    }

    /**
     * A time whose state the replica never held is refused, as a sequence inside a jump is (probe s62
     * AD D1: inside a FULL period, and inside a jump after a rollback and a resync, --as-of and
     * --to-time returned the point before the loss as "the state at T", without writes the host had
     * acknowledged by then).
     */
    @Test
    void aTimeWhoseStateTheReplicaNeverHeldIsRefused() throws Exception {
        long second = 1_000_000_000L;
        List<CaptureRecord> records = new ArrayList<>();
        for (long seq = 1; seq <= 10; seq++) {
            records.add(timed(write(seq), seq * second)); // captured at 1..10 s
        }
        records.add(CaptureRecord.seal("vol1", 11, 15 * second, RecordKind.GAP, 0, 4096, 0, Provenance.INTERNAL,
                "capture buffer FULL: writes lost".getBytes(StandardCharsets.UTF_8))); // stamped when space returned
        for (long seq = 12; seq <= 14; seq++) {
            records.add(timed(write(seq), (seq + 4) * second)); // 16..18 s
        }
        List<CaptureRecord> afterJump = List.of(
                timed(seal(30, RecordKind.RESYNC_BEGIN, new ResyncEpoch(5, false, "test", 0).text()), 25 * second),
                timed(write(31), 26 * second));
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, records));
            v.apply(BatchCodec.pack(1, afterJump)); // a batch is dense; the jump is between two
            assertEquals(5, v.resolveTarget(AdminRequest.TO_TIME, 5 * second + second / 2, ""), "a held state");
            RefusedException inLoss = assertThrows(RefusedException.class,
                    () -> v.resolveTarget(AdminRequest.TO_TIME, 12 * second, ""));
            assertTrue(inLoss.getMessage().contains("holds no state of its source: after seq 10 the next record it"
                    + " holds is a GAP (seq 11)"), inLoss.getMessage());
            RefusedException inJump = assertThrows(RefusedException.class, () -> PointInTimeImage.image(data, "vol1",
                    AdminRequest.TO_TIME, 20 * second, "", scratch.resolve("i20"), PointInTimeImage.Progress.NONE));
            assertTrue(inJump.getMessage().contains("after seq 14 the next record it holds is seq 30, a jump"),
                    inJump.getMessage());
            assertEquals(13, v.resolveTarget(AdminRequest.TO_TIME, 17 * second, ""), "after the GAP: held again");
            assertEquals(31, v.resolveTarget(AdminRequest.TO_TIME, 27 * second, ""), "the newest");
        }
    }

    private static CaptureRecord timed(CaptureRecord r, long captureTimeNanos) {
        return CaptureRecord.seal(r.volumeId(), r.sequence(), captureTimeNanos, r.kind(), r.offsetBytes(),
                r.lengthBytes(), r.flags(), r.provenance(), r.payload());
    }

    /** Applies {@code before} (seq 1..100), then a resync's epoch that jumps from 100 to 150 and ends at 161. */
    private static void applyWithJump(ReplicaVolume v, List<CaptureRecord> before) throws Exception {
        List<CaptureRecord> after = new ArrayList<>();
        after.add(seal(150, RecordKind.RESYNC_BEGIN, new ResyncEpoch(9, true, "test", 0).text()));
        for (long seq = 151; seq <= 160; seq++) {
            after.add(write(seq));
        }
        after.add(seal(161, RecordKind.RESYNC_END, new ResyncEpoch(9, true, "").text()));
        v.apply(BatchCodec.pack(0, before));
        v.apply(BatchCodec.pack(1, after));
    }

    private static void apply(ReplicaVolume v, List<CaptureRecord> records) throws Exception {
        for (int i = 0; i < records.size(); i += 25) {
            v.apply(BatchCodec.pack(i, records.subList(i, Math.min(records.size(), i + 25))));
        }
    }

    private static CaptureRecord write(long seq) {
        byte[] p = new byte[4096];
        java.util.Arrays.fill(p, (byte) seq);
        return CaptureRecord.seal("vol1", seq, seq, RecordKind.WRITE, (seq % 16) * 4096, p.length, 0, Provenance.INTERNAL,
                p);
    }

    private static CaptureRecord seal(long seq, RecordKind kind, String text) {
        return CaptureRecord.seal("vol1", seq, seq, kind, 0, 0, 0, Provenance.INTERNAL,
                text.getBytes(StandardCharsets.UTF_8));
    }

    private static JourneyMessage.Hello hello() {
        return new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a", "vol1", 256 << 10, 4096, "");
    }
}
