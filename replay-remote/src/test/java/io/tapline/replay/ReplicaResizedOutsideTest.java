package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.undo.UndoConfig;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica image that another program truncated, extended or deleted while no replayer held it:
 * the volume still opens (the source is not refused for ever), at its size again, out of sync,
 * and says why in its audit log; the next resync compares the whole volume.
 */
class ReplicaResizedOutsideTest {
    private static final long SIZE = SmallReplica.SIZE;
    private static final UndoConfig UNDO = SmallReplica.UNDO;

    @TempDir
    Path data;

    @Test
    void aTruncatedReplicaOpensOutOfSyncAtItsSize() throws Exception {
        synced();
        try (RandomAccessFile f = new RandomAccessFile(image().toFile(), "rw")) {
            f.setLength(SIZE / 4);
        }
        VolumeStatus fromFiles = ReplayServer.readVolumeStatus(data).get(0);
        assertEquals("out-of-sync", fromFiles.state(), "status from the files, replayer stopped: " + fromFiles);
        assertTrue(fromFiles.reason().startsWith("replica image is " + SIZE / 4 + " bytes (expected: " + SIZE + ")"),
                fromFiles.reason());
        reopenedOutOfSync("its size was " + SIZE / 4 + " bytes (expected: " + SIZE + "): brought back to " + SIZE);
    }

    @Test
    void anExtendedReplicaOpensOutOfSyncAtItsSize() throws Exception {
        synced();
        try (RandomAccessFile f = new RandomAccessFile(image().toFile(), "rw")) {
            f.setLength(SIZE * 2);
        }
        reopenedOutOfSync("its size was " + SIZE * 2 + " bytes");
    }

    @Test
    void aDeletedReplicaImageOpensOutOfSync() throws Exception {
        synced();
        Files.delete(image());
        assertEquals("out-of-sync", ReplayServer.readVolumeStatus(data).get(0).state());
        reopenedOutOfSync("the image was missing: made again, empty, at " + SIZE + " bytes");
    }

    private void synced() throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(0, 50)));
            assertTrue(v.consistent());
        }
    }

    private void reopenedOutOfSync(String why) throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(), UNDO)) {
            assertEquals(SIZE, Files.size(image()));
            assertFalse(v.consistent(), "the image holds what no record wrote");
            assertTrue(v.status(false).reason().contains("holds data written outside the log"), v.status(false).reason());
            assertEquals(50, v.lastApplied());
        }
        String audit = AuditLog.read(data.resolve("vol1")).stream().map(e -> e.detail()).toList().toString();
        assertTrue(audit.contains(why), audit);
    }

    private Path image() {
        return SmallReplica.image(data);
    }

    private static JourneyMessage.Hello hello() {
        return SmallReplica.hello();
    }
}
