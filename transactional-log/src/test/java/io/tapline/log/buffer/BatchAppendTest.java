package io.tapline.log.buffer;

import static io.tapline.log.buffer.TestBuffers.WEDGE;
import static io.tapline.log.buffer.TestBuffers.open;
import static io.tapline.log.buffer.TestBuffers.payload;
import static io.tapline.log.buffer.TestBuffers.readAll;
import static io.tapline.log.buffer.TestBuffers.segments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CaptureBuffer#appendBatch}: a run of records stored with one write is the same, on
 * disk and to readers, as the same records appended one at a time; the batch stops where a
 * record would roll the segment, fill the buffer or is not a plain record, and leaves that record
 * and the rest to {@link CaptureBuffer#append}.
 */
class BatchAppendTest {
    @TempDir
    Path dir;

    @Test
    void batchesReadBackAsSingleAppendsAcrossRollsAndReopen() throws Exception {
        // 4 KiB records, 64 KiB segments: a batch of 40 cannot fit one segment.
        BufferConfig config = new BufferConfig(64 * 1024, 1L << 30, 1L << 29);
        List<CaptureRecord> written = new ArrayList<>();
        try (CaptureBuffer buffer = open(dir, config)) {
            written.add(TestBuffers.appendWrite(buffer, 0, 4096));
            List<AppendRequest> run = writes(buffer.lastSequence() + 1, 40, 4096);
            while (!run.isEmpty()) {
                List<CaptureRecord> stored = buffer.appendBatch(run);
                written.addAll(stored);
                run = run.subList(stored.size(), run.size());
                if (!run.isEmpty()) {
                    AppendRequest r = run.get(0);
                    written.add(buffer.append(r.kind(), r.offsetBytes(), r.lengthBytes(), r.flags(), r.provenance(),
                            r.payload()));
                    run = run.subList(1, run.size());
                }
            }
            for (int i = 0; i < written.size(); i++) {
                assertEquals(i + 1, written.get(i).sequence(), "dense sequences");
            }
            assertEquals(41, buffer.lastSequence());
            assertEquals(written, readAll(buffer, 1));
            assertEquals(written.subList(20, written.size()), readAll(buffer, 21));
            assertTrue(segments(dir).size() >= 3, "segments: " + segments(dir));
        }
        for (Path segment : segments(dir)) {
            assertTrue(Files.size(segment) <= 64 * 1024, segment + " " + Files.size(segment));
        }
        try (CaptureBuffer reopened = open(dir, config)) {
            assertEquals(written, readAll(reopened, 1));
            assertEquals(0, reopened.recoveryReport().tornTailBytes());
        }
    }

    @Test
    void batchesOfLargeRecordsGoDirectAndSmallOnesStayBuffered() throws Exception {
        // 4 KiB threshold: a batch of 5000-byte records is one O_DIRECT write at an unaligned
        // offset (the file then ends in block padding); a batch of 1000-byte records, 4 KiB and
        // more in all, stays in the page cache (the file ends at its last record).
        BufferConfig config = new BufferConfig(1 << 20, 1L << 30, 1L << 29).withDirectAppendMinBytes(4096);
        List<CaptureRecord> written = new ArrayList<>();
        try (CaptureBuffer buffer = open(dir, config)) {
            for (int round = 0; round < 20; round++) {
                List<CaptureRecord> large = buffer.appendBatch(writes(buffer.lastSequence() + 1, 4, 5000));
                assertEquals(4, large.size());
                written.addAll(large);
                Path active = segments(dir).get(segments(dir).size() - 1);
                assertEquals(0, Files.size(active) % 4096, "direct: padded to a block, round " + round);
                assertTrue(Files.size(active) > buffer.status().retainedBytes() - 4096);
                List<CaptureRecord> small = buffer.appendBatch(writes(buffer.lastSequence() + 1, 6, 1000));
                assertEquals(6, small.size());
                written.addAll(small);
                assertEquals(buffer.status().retainedBytes(), Files.size(active), "buffered: no padding, round " + round);
                assertEquals(written, readAll(buffer, 1), "round " + round);
            }
        }
        try (CaptureBuffer reopened = open(dir, config)) {
            assertEquals(written, readAll(reopened, 1));
        }
    }

    @Test
    void batchStopsBeforeTheBufferLimitAndLeavesTheRestToSingleAppends() throws Exception {
        // 24 KiB segments, 40 KiB in all: after six single 4 KiB records (one roll) the second
        // segment has room for four more, the buffer's limit for only three.
        BufferConfig tiny = new BufferConfig(24 * 1024, 40 * 1024, 32 * 1024);
        try (CaptureBuffer buffer = open(dir, tiny)) {
            buffer.registerRemote("east"); // nothing is acknowledged: the buffer fills
            List<CaptureRecord> written = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                written.add(TestBuffers.appendWrite(buffer, i * 4096L, 4096));
            }
            assertEquals(2, segments(dir).size());
            List<CaptureRecord> stored = buffer.appendBatch(writes(7, 20, 4096));
            assertTrue(stored.size() >= 2 && stored.size() < 20, "stored " + stored.size());
            written.addAll(stored);
            assertTrue(buffer.status().retainedBytes() <= tiny.maxBytes(),
                    "never past maxBytes: " + buffer.status().retainedBytes());
            assertEquals(written, readAll(buffer, 1));
            assertTrue(buffer.status().mode() != BufferMode.FULL);
            long next = buffer.lastSequence() + 1;
            assertNull(buffer.append(RecordKind.WRITE, 0, 4096, 0, WEDGE, payload(next, 4096)), "the next one is full");
            assertEquals(BufferMode.FULL, buffer.status().mode());
            assertEquals(List.of(), buffer.appendBatch(writes(next, 5, 100)), "a FULL buffer takes no batch");
            assertEquals(written.size(), buffer.lastSequence(), "no sequence used by a refused batch");
        }
    }

    @Test
    void batchStopsAtAGapAndRefusesWhilePausedOrTooShort() throws Exception {
        BufferConfig config = new BufferConfig(1 << 20, 1L << 30, 1L << 29);
        try (CaptureBuffer buffer = open(dir, config)) {
            List<AppendRequest> run = new ArrayList<>(writes(1, 3, 512));
            run.add(AppendRequest.of(RecordKind.GAP, 0, 4096, 0, WEDGE, "lost".getBytes()));
            run.addAll(writes(5, 2, 512));
            assertEquals(3, buffer.appendBatch(run).size(), "up to the GAP");
            assertEquals(List.of(), buffer.appendBatch(run.subList(3, run.size())), "a GAP goes one by one");
            assertEquals(List.of(), buffer.appendBatch(List.of()), "nothing to store");
            buffer.pauseCapture("operator");
            assertEquals(List.of(), buffer.appendBatch(writes(4, 3, 512)), "paused: tracked, not stored");
            assertEquals(3, buffer.lastSequence());
            buffer.resumeCapture();
            List<CaptureRecord> stored = buffer.appendBatch(writes(4, 3, 512));
            assertEquals(List.of(4L, 5L, 6L), stored.stream().map(CaptureRecord::sequence).toList());
            assertNotNull(stored.get(0).provenance());
        }
        CaptureBuffer closed = open(dir, config);
        closed.close();
        assertThrows(IOException.class, () -> closed.appendBatch(writes(7, 2, 512)));
    }

    /** {@code count} WRITE requests whose payloads are those {@link TestBuffers#appendWrite} would give. */
    private static List<AppendRequest> writes(long firstSequence, int count, int length) {
        List<AppendRequest> run = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long sequence = firstSequence + i;
            run.add(AppendRequest.of(RecordKind.WRITE, sequence * 4096L, length, 0, WEDGE, payload(sequence, length)));
        }
        return run;
    }
}
