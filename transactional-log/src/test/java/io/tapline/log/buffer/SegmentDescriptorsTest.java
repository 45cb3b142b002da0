package io.tapline.log.buffer;

import static io.tapline.log.buffer.TestBuffers.appendWrite;
import static io.tapline.log.buffer.TestBuffers.open;
import static io.tapline.log.buffer.TestBuffers.readAll;
import static io.tapline.log.buffer.TestBuffers.segments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A source keeps every segment its remotes have not acknowledged; each used to hold a descriptor,
 * one per 64 MiB of buffer, and a wedge whose replayer was stopped ran out of them and failed its
 * host's writes with EIO (probe V D1). Sealed, forced segments hold none: what stays open does not
 * grow with the buffer, while the wedge runs or after a reopen. (A write-once buffer's segments are
 * not forced until a clean close, and keep their descriptors until then: closing an unforced file
 * would lose its writeback errors for the close's force.)
 */
class SegmentDescriptorsTest {
    private static final BufferConfig SMALL = new BufferConfig(8192, 1L << 30, 1L << 29);

    @TempDir
    Path dir;

    @Test
    void sealedSegmentsHoldNoDescriptorWhileRetainedAndAfterAReopen() throws Exception {
        fillAndCheck(SMALL);
    }

    private void fillAndCheck(BufferConfig config) throws Exception {
        try (CaptureBuffer buffer = open(dir, config)) {
            buffer.registerRemote("r1"); // never acknowledges: every segment is retained
            for (int i = 0; i < 400; i++) {
                appendWrite(buffer, (i % 64) * 4096L, 4096);
            }
            buffer.sync();
            assertTrue(segments(dir).size() > 150, segments(dir).size() + " segments");
            assertTrue(openSegmentFiles() <= 2, openSegmentFiles() + " segment files open for " + segments(dir).size()
                    + " retained segments");
            assertEquals(400, readAll(buffer, 1).size(), "readers open their own: every record still reads back");
        }
        try (CaptureBuffer reopened = open(dir, config)) {
            assertTrue(openSegmentFiles() <= 2, openSegmentFiles() + " segment files open after a reopen");
            assertEquals(400, readAll(reopened, 1).size());
            appendWrite(reopened, 0, 4096); // the last segment is still the writer's
            reopened.sync();
            assertEquals(401, readAll(reopened, 1).size());
        }
    }

    /** How many of this process's descriptors name a segment file of {@code dir}. */
    private long openSegmentFiles() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    Path target = Files.readSymbolicLink(fd);
                    return target.startsWith(dir) && target.toString().endsWith(SegmentNames.SEGMENT_SUFFIX);
                } catch (IOException e) {
                    return false; // closed meanwhile (the listing's own descriptor)
                }
            }).count();
        }
    }
}
