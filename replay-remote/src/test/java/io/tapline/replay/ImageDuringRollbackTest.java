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
