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
import io.tapline.log.RecordKind;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CaptureBuffer#numberPast}: a buffer that continues its numbering after a replica's
 * history, readers that cross the hole at its GAP, and the states a crash can leave.
 */
class NumberPastTest {
    private static final BufferConfig SMALL = new BufferConfig(8192, 1L << 30, 1L << 29);

    @TempDir
    Path dir;

    /** Records 1..20 over several segments, then a jump past seq 100; returns the records written. */
    private List<CaptureRecord> twentyThenJump(CaptureBuffer buffer) throws Exception {
        for (int i = 0; i < 20; i++) {
            appendWrite(buffer, i * 4096L, 700);
        }
        assertTrue(buffer.numberPast(100, "a replica follows another history"));
        assertFalse(buffer.numberPast(100, "again"), "already past");
        assertFalse(buffer.numberPast(50, "behind"), "already past");
        assertEquals(101, buffer.lastSequence());
        assertEquals(101, buffer.durableSequence(), "the GAP is durable before anyone reads it");
        return readAll(buffer, 1);
    }

    @Test
    void readersCrossTheHoleAtItsGapAndAppendsContinueAfterIt() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            List<CaptureRecord> all = twentyThenJump(buffer);
            assertEquals(21, all.size());
            CaptureRecord gap = all.get(20);
            assertEquals(101, gap.sequence());
            assertEquals(RecordKind.GAP, gap.kind());
            assertTrue(gap.recordsLostBefore(), gap.toString());
            assertEquals("a replica follows another history", gap.text());
            assertEquals(20, all.get(19).sequence());
            CaptureRecord next = appendWrite(buffer, 0, 100);
            assertEquals(102, next.sequence());
            assertEquals(List.of(gap, next), readAll(buffer, 21), "a reader opened inside the hole starts at the GAP");
            assertEquals(List.of(gap, next), readAll(buffer, 101));
            assertEquals(List.of(next), readAll(buffer, 102));
            buffer.registerRemote("r1");
            buffer.acknowledge("r1", 100); // a replica at 100 acknowledged through its own history
            assertEquals(101, buffer.firstSequence(), "every segment below the hole released");
        }
        try (CaptureBuffer reopened = open(dir, SMALL)) {
            assertEquals(102, reopened.lastSequence());
            assertEquals(2, readAll(reopened, 101).size());
        }
    }

    @Test
    void aJumpFromAnEmptyBufferAndItsReopen() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            assertTrue(buffer.numberPast(7, "new buffer"));
            appendWrite(buffer, 0, 10);
            assertEquals(List.of(8L, 9L), readAll(buffer, 1).stream().map(CaptureRecord::sequence).toList());
        }
        try (CaptureBuffer reopened = open(dir, SMALL)) {
            assertEquals(List.of(8L, 9L), readAll(reopened, 1).stream().map(CaptureRecord::sequence).toList());
        }
    }

    /** The crash states of a jump: the buffer copied while open (not closed cleanly), then its last segment cut. */
    @Test
    void everyStateACrashLeavesReopensWithoutLosingARecord() throws Exception {
        Path snapshot = dir.resolve("snapshot");
        List<CaptureRecord> before;
        try (CaptureBuffer buffer = open(dir.resolve("live"), SMALL)) {
            before = twentyThenJump(buffer).subList(0, 20);
            TestBuffers.copyDir(dir.resolve("live"), snapshot);
        }
        Path jumpSegment = segments(snapshot).get(segments(snapshot).size() - 1);
        assertEquals(101, SegmentNames.baseSequenceOf(jumpSegment));
        long full = Files.size(jumpSegment);
        int header = SegmentHeader.sizeFor(TestBuffers.VOLUME);
        // {what the cut left of the jump's segment, whether the jump survived}
        long[] cuts = {full, full - 1, header + 10, header, header - 3, 0, -1};
        for (long cut : cuts) {
            Path state = dir.resolve("state" + cut);
            TestBuffers.copyDir(snapshot, state);
            Path seg = state.resolve(jumpSegment.getFileName());
            if (cut < 0) {
                Files.delete(seg); // the directory entry never reached the disk
            } else {
                try (FileChannel ch = FileChannel.open(seg, StandardOpenOption.WRITE)) {
                    ch.truncate(cut);
                }
            }
            boolean jumped = cut == full;
            try (CaptureBuffer reopened = open(state, SMALL)) {
                List<CaptureRecord> read = readAll(reopened, 1);
                assertEquals(before, read.subList(0, 20), "cut " + cut + ": no record below the hole lost");
                assertEquals(jumped ? 21 : 20, read.size(), "cut " + cut);
                assertEquals(jumped ? 101 : 20, reopened.lastSequence(), "cut " + cut);
                if (!jumped) {
                    assertTrue(reopened.numberPast(100, "asked again"), "cut " + cut);
                    assertEquals(101, reopened.lastSequence());
                }
            }
        }
    }

    @Test
    void aHoleNotOpenedByARecordsLostGapIsRefused() throws Exception {
        try (CaptureBuffer buffer = open(dir.resolve("a"), SMALL)) {
            for (int i = 0; i < 5; i++) {
                appendWrite(buffer, i * 4096L, 700);
            }
        }
        CaptureBuffer.startAt(dir.resolve("b"), TestBuffers.VOLUME, 40);
        try (CaptureBuffer later = open(dir.resolve("b"), SMALL)) {
            appendWrite(later, 0, 100); // seq 40: a plain write, not the GAP a jump begins with
        }
        for (Path seg : segments(dir.resolve("b"))) {
            Files.copy(seg, dir.resolve("a").resolve(seg.getFileName()));
        }
        BufferCorruptException e = assertThrows(BufferCorruptException.class, () -> open(dir.resolve("a"), SMALL));
        assertTrue(e.getMessage().contains("baseSequence: 40 (expected: 6"), e.getMessage());
    }
}
