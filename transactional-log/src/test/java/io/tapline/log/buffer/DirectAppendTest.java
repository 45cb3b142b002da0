package io.tapline.log.buffer;

import static io.tapline.log.buffer.TestBuffers.appendWrite;
import static io.tapline.log.buffer.TestBuffers.open;
import static io.tapline.log.buffer.TestBuffers.readAll;
import static io.tapline.log.buffer.TestBuffers.segments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Large records appended with O_DIRECT ({@link DirectAppender}) mixed with small buffered ones:
 * every record reads back as written while the writer goes on, a segment the writer leaves ends
 * at its last record (no padding), and a buffer abandoned without close (kill -9) reopens with
 * every record and only the block padding trimmed.
 */
class DirectAppendTest {
    /** Records of 1 KiB and more go direct; segments roll at 256 KiB. */
    private static final BufferConfig MIXED = new BufferConfig(256 * 1024, 1L << 30, 1L << 29)
            .withDirectAppendMinBytes(1024);

    @TempDir
    Path dir;

    @Test
    void mixedRecordsReadBackWhileWrittenAndSegmentsEndAtTheirLastRecord() throws Exception {
        Random random = new Random(7);
        List<CaptureRecord> written = new ArrayList<>();
        try (CaptureBuffer buffer = open(dir, MIXED)) {
            for (int i = 0; i < 300; i++) {
                written.add(appendWrite(buffer, i * 4096L, length(random)));
                if (i % 37 == 0) {
                    assertEquals(written, readAll(buffer, 1), "records read back after " + (i + 1) + " appends");
                }
            }
            assertEquals(written, readAll(buffer, 1));
            assertTrue(segments(dir).size() >= 4, "segments: " + segments(dir));
        }
        for (Path segment : segments(dir)) {
            assertFalse(endsInZeroBlockPadding(segment), segment + " ends in padding after a clean close");
        }
        try (CaptureBuffer reopened = open(dir, MIXED)) {
            assertEquals(written, readAll(reopened, 1));
            assertEquals(0, reopened.recoveryReport().tornTailBytes());
            assertFalse(reopened.uncleanShutdown());
        }
    }

    @Test
    void aBufferLeftWithoutCloseReopensWithEveryRecord() throws Exception {
        Random random = new Random(11);
        List<CaptureRecord> written = new ArrayList<>();
        Path copy = dir.resolve("copy");
        Path live = dir.resolve("live");
        CaptureBuffer buffer = open(live, MIXED);
        try {
            for (int i = 0; i < 40; i++) {
                written.add(appendWrite(buffer, i * 4096L, length(random)));
            }
            written.add(appendWrite(buffer, 0, 5000)); // ends mid-block: the active segment has padding
            buffer.sync();
            Path active = segments(live).get(segments(live).size() - 1);
            assertTrue(endsInZeroBlockPadding(active), "the last direct append left no padding: " + active);
            copyTree(live, copy); // what kill -9 leaves: the page cache and the disk agree
        } finally {
            buffer.close();
        }
        try (CaptureBuffer reopened = open(copy, MIXED)) {
            assertEquals(written, readAll(reopened, 1));
            assertTrue(reopened.uncleanShutdown(), "no clean-shutdown marker in the copy");
            long torn = reopened.recoveryReport().tornTailBytes();
            assertTrue(torn > 0 && torn < 4096, "only the block padding is trimmed: " + torn);
        }
    }

    @Test
    void aThresholdBelowZeroIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> MIXED.withDirectAppendMinBytes(-1));
        assertThrows(IllegalArgumentException.class, () -> BufferConfig.minRecordBytes("lots"));
        assertEquals(Long.MAX_VALUE, BufferConfig.minRecordBytes("off"));
    }

    /** Sizes from 100 bytes to 200 KiB, a third of them under the direct threshold. */
    private static int length(Random random) {
        return random.nextInt(3) == 0 ? 100 + random.nextInt(900) : 1024 + random.nextInt(200 * 1024);
    }

    /** Whether the file's size is block-aligned with zeros after the last record's bytes. */
    private static boolean endsInZeroBlockPadding(Path segment) throws Exception {
        byte[] bytes = Files.readAllBytes(segment);
        return bytes.length % 4096 == 0 && bytes.length > 0 && bytes[bytes.length - 1] == 0;
    }

    private static void copyTree(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(f)) {
                    Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }
}
