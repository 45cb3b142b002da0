package io.tapline.replay;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.undo.UndoConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A source volume that grew: its replica grows with it (sparse), out of sync from the applied
 * sequence with its consistent point kept, the old range untouched; a source that shrank is
 * still refused, saying why.
 */
class ReplicaGrowthTest {
    private static final long SIZE = SmallReplica.SIZE;
    private static final UndoConfig UNDO = SmallReplica.UNDO;

    @TempDir
    Path data;

    private byte[] synced() throws Exception {
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(SIZE), UNDO)) {
            v.apply(BatchCodec.pack(0, RollbackTest.history().subList(0, 50)));
            assertTrue(v.consistent());
        }
        return Files.readAllBytes(image());
    }

    @Test
    void aLargerSourceGrowsTheReplicaWhichIsThenOutOfSyncWithItsConsistentPointKept() throws Exception {
        byte[] before = synced();
        String grew = ReplicaGrowth.growIfLarger(data, hello(SIZE * 4));
        assertTrue(grew.contains("volume grew from " + SIZE + " to " + SIZE * 4 + " bytes"), grew);
        VolumeStatus fromFiles = ReplayServer.readVolumeStatus(data).get(0);
        assertEquals("out-of-sync", fromFiles.state(), fromFiles.toString());
        assertEquals(50, fromFiles.consistentSequence(), fromFiles.toString());
        try (ReplicaVolume v = ReplicaVolume.open(data, hello(SIZE * 4), UNDO)) {
            assertEquals(SIZE * 4, v.sizeBytes());
            assertFalse(v.consistent());
            assertEquals(50, v.lastApplied());
            assertEquals(50, v.status(false).consistentSequence(), "a rollback to seq 50 or below stays consistent");
        }
        byte[] after = Files.readAllBytes(image());
        assertEquals(SIZE * 4, after.length);
        assertArrayEquals(before, Arrays.copyOf(after, (int) SIZE), "the old range untouched");
        assertArrayEquals(new byte[(int) (SIZE * 3)], Arrays.copyOfRange(after, (int) SIZE, after.length));
        String audit = AuditLog.read(data.resolve("vol1")).stream().map(e -> e.detail()).toList().toString();
        assertTrue(audit.contains("volume grew from " + SIZE + " to " + SIZE * 4 + " bytes (source src-a) at seq 50"),
                audit);
        assertNull(ReplicaGrowth.growIfLarger(data, hello(SIZE * 4)), "once");
    }

    @Test
    void aSmallerSourceIsRefusedAndTheReplicaKeepsItsSize() throws Exception {
        synced();
        assertNull(ReplicaGrowth.growIfLarger(data, hello(SIZE / 2)));
        RefusedException e = assertThrows(RefusedException.class, () -> ReplicaVolume.open(data, hello(SIZE / 2), UNDO));
        assertTrue(e.getMessage().contains("a replica grows with its source but never shrinks by itself"),
                e.getMessage());
        assertEquals(SIZE, Files.size(image()));
    }

    @Test
    void aReplicaPausedAfterARollbackDoesNotGrowUntilResumed() throws Exception {
        synced();
        Files.writeString(data.resolve("vol1").resolve(ControlFiles.PAUSED), "x");
        assertNull(ReplicaGrowth.growIfLarger(data, hello(SIZE * 2)));
        assertEquals(SIZE, Files.size(image()));
    }

    private Path image() {
        return SmallReplica.image(data);
    }

    private static JourneyMessage.Hello hello(long size) {
        return SmallReplica.hello(size);
    }
}
