package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyMessage.AdminRequest;
import io.tapline.log.CaptureRecord;
import io.tapline.log.undo.UndoConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A point-in-time image and a rollback of the same volume never overlap (issue 8 item 7): a
 * rollback that starts and ends while the image copies the replica would leave the copy and the
 * undo log in two different states.
 */
class ImageDuringRollbackTest {
    private static final UndoConfig SMALL_SEGMENTS = new UndoConfig(16 << 10, 1L << 30, Duration.ofDays(1));

    @TempDir
    Path data;
    @TempDir
    Path scratch;

    private ReplicaVolume volumeAt300(List<CaptureRecord> records) throws Exception {
        ReplicaVolume v = ReplicaVolume.open(data, new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION,
                "src-a", "vol1", 256 << 10, 4096, ""), SMALL_SEGMENTS);
        for (int i = 0; i < records.size(); i += 25) {
            v.apply(BatchCodec.pack(i, records.subList(i, i + 25)));
        }
        return v;
    }

    @Test
    void rollbackWhileAnImageIsMadeIsRefusedAndTheImageIsExact() throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        try (ReplicaVolume v = volumeAt300(records)) {
            Path out = scratch.resolve("img-100");
            AtomicReference<Exception> rollback = new AtomicReference<>();
            long seq = PointInTimeImage.write(data, "vol1", AdminRequest.TO_SEQUENCE, 100, "", out, () -> {
                try {
                    v.rollback(200, "bob", (d, t) -> { });
                } catch (Exception e) {
                    rollback.set(e);
                }
            });
            assertEquals(100, seq);
            assertArrayEquals(RollbackTest.reference(records, 100), Files.readAllBytes(out), "image at seq 100");
            Exception refused = rollback.get();
            assertTrue(refused instanceof RefusedException && refused.getMessage().contains("point-in-time image"),
                    String.valueOf(refused));
            assertEquals(300, v.lastApplied());
            // Once the image is done, the rollback runs.
            v.rollback(200, "bob", (d, t) -> { });
            assertArrayEquals(RollbackTest.reference(records, 200), Files.readAllBytes(data.resolve("vol1/replica.img")));
        }
    }

    /** A failed group is healed (undone) only once an image that needs its undo records is done. */
    @Test
    void healingWaitsForAnImage() throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        ApplyFaultTest.FaultSwitch faults = new ApplyFaultTest.FaultSwitch();
        VolumeHost host = new VolumeHost("vol1", data, SMALL_SEGMENTS, RoleListener.NONE, ApplyObserver.NONE, faults);
        JourneyMessage.Hello hello = new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "src-a",
                "vol1", 256 << 10, 4096, "");
        try {
            ReplicaVolume v = host.open(hello);
            v.apply(BatchCodec.pack(1, records.subList(0, 150)));
            faults.arm(ApplyFaults.Op.REPLICA_WRITE, 20, "Input/output error"); // part of 151..300 lands
            org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                    () -> v.apply(BatchCodec.pack(2, records.subList(150, 300))));
            faults.clear();
            Path out = scratch.resolve("img-149");
            AtomicReference<Exception> heal = new AtomicReference<>();
            PointInTimeImage.write(data, "vol1", AdminRequest.TO_SEQUENCE, 149, "", out, () -> {
                try {
                    host.open(hello); // a source reconnects while the image is made
                } catch (Exception e) {
                    heal.set(e);
                }
            });
            assertArrayEquals(RollbackTest.reference(records, 149), Files.readAllBytes(out), "image at seq 149");
            assertTrue(heal.get() != null && heal.get().getMessage().contains("point-in-time image"),
                    String.valueOf(heal.get()));
            ReplicaVolume healed = host.open(hello);
            assertEquals(150, healed.lastApplied());
            assertArrayEquals(RollbackTest.reference(records, 150), Files.readAllBytes(data.resolve("vol1/replica.img")));
        } finally {
            host.close();
        }
    }

    @Test
    void imageWhileARollbackRunsIsRefused() throws Exception {
        List<CaptureRecord> records = RollbackTest.history();
        try (ReplicaVolume v = volumeAt300(records)) {
            AtomicReference<Exception> image = new AtomicReference<>();
            v.rollback(150, "bob", (d, t) -> {
                if (d == 5) {
                    try {
                        PointInTimeImage.write(data, "vol1", AdminRequest.TO_SEQUENCE, 100, "", scratch.resolve("x"));
                    } catch (Exception e) {
                        image.set(e);
                    }
                }
            });
            assertTrue(image.get() instanceof RefusedException
                    && image.get().getMessage().contains("is being rolled back"), String.valueOf(image.get()));
        }
    }
}
