package io.tapline.log.buffer;

import static io.tapline.log.buffer.TestBuffers.appendWrite;
import static io.tapline.log.buffer.TestBuffers.open;
import static io.tapline.log.buffer.TestBuffers.readAll;
import static io.tapline.log.buffer.TestBuffers.segments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentRepairTest {
    private static final BufferConfig SMALL = new BufferConfig(4096, 1L << 30, 1L << 29);

    @TempDir
    Path dir;

    @Test
    void repairOfADamagedMiddleHeaderKeepsTheSegmentsBeforeIt() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            for (int i = 0; i < 12; i++) {
                appendWrite(buffer, 0, 1000);
            }
        }
        List<Path> all = segments(dir);
        assertTrue(all.size() >= 4);
        Path second = all.get(1);
        long secondBase = SegmentNames.baseSequenceOf(second);
        TestBuffers.flipByte(second, 12);
        BufferCorruptException e = assertThrows(BufferCorruptException.class, () -> open(dir, SMALL));
        assertEquals(second, e.file());

        SegmentRepair.Result result = SegmentRepair.truncateAt(e.file(), e.offsetBytes());

        assertEquals(all.size() - 1, result.filesDeleted().size());
        assertEquals(List.of(all.get(0)), segments(dir));
        assertTrue(result.wholeVolumeTracked());
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            // The cut records may be missing on a replica: the whole volume is tracked for a resync.
            assertEquals(ChangedChunks.WholeVolumeCause.RECORDS_CUT.text(), buffer.status().wholeVolumeCause());
            assertEquals(-1, buffer.status().trackedChunks());
            assertEquals(secondBase - 1, buffer.lastSequence());
            assertEquals(secondBase - 1, readAll(buffer, 1).size());
            assertEquals(secondBase, appendWrite(buffer, 0, 1).sequence());
        }
    }

    @Test
    void refusesWhileTheBufferIsOpenAndCutsNothing() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            for (int i = 0; i < 6; i++) {
                appendWrite(buffer, 0, 1000);
            }
            List<Path> all = segments(dir);
            long size = Files.size(all.get(0));
            java.io.IOException e = assertThrows(java.io.IOException.class,
                    () -> SegmentRepair.truncateAt(all.get(0), 100));
            assertTrue(e.getMessage().startsWith("buffer: ") && e.getMessage().contains("is in use by another process"),
                    e.getMessage());
            assertEquals(all, segments(dir));
            assertEquals(size, Files.size(all.get(0)));
            assertEquals(6, buffer.lastSequence());
        }
    }

    @Test
    void refusesAnOffsetOutsideTheFile() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            appendWrite(buffer, 0, 10);
        }
        Path segment = segments(dir).get(0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SegmentRepair.truncateAt(segment, Files.size(segment) + 1));
        assertTrue(e.getMessage().startsWith("offsetBytes: "), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SegmentRepair.truncateAt(dir.resolve("x.seg"), 0));
    }
}
