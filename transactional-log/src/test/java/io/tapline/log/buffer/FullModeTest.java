package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import static io.tapline.log.buffer.TestBuffers.appendWrite;
import static io.tapline.log.buffer.TestBuffers.open;
import static io.tapline.log.buffer.TestBuffers.readAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FullModeTest {
    /** 4 KiB segments, FULL above 16 KiB, HIGH_WATER above 8 KiB. */
    private static final BufferConfig TINY = new BufferConfig(4096, 16384, 8192);

    @TempDir
    Path dir;

    /** Appends ~1 KiB writes until one is refused; returns the last stored sequence. */
    private static long fillUntilFull(CaptureBuffer buffer) throws Exception {
        for (int i = 0; i < 100; i++) {
            if (appendWrite(buffer, 1L << 20, 1000) == null) {
                return buffer.lastSequence();
            }
        }
        throw new AssertionError("never became FULL");
    }

    @Test
    void fullBufferDropsWritesThenRecordsAGapWhenAcknowledgmentsFreeSpace() throws Exception {
        try (CaptureBuffer buffer = open(dir, TINY)) {
            buffer.registerRemote("east");
            long stored = fillUntilFull(buffer);
            BufferStatus full = buffer.status();
            assertEquals(BufferMode.FULL, full.mode());
            assertEquals(1, full.lostWrites());
            assertTrue(full.retainedBytes() <= TINY.maxBytes());
            assertNull(appendWrite(buffer, 4096, 512));
            assertNull(appendWrite(buffer, 100, 50));
            assertNull(buffer.append(RecordKind.FLUSH, 0, 0, 0, TestBuffers.WEDGE, null));
            assertNull(buffer.append(RecordKind.DISCARD, 1L << 30, 4096, 0, TestBuffers.WEDGE, null));
            buffer.sync();
            assertEquals(5, buffer.status().lostWrites());
            assertEquals(stored, buffer.lastSequence(), "lost writes take no sequence");
            assertTrue(!buffer.status().synced());

            buffer.acknowledge("east", stored);

            BufferStatus after = buffer.status();
            assertEquals(BufferMode.DATA, after.mode());
            assertEquals(0, after.lostWrites());
            assertEquals(1, after.gapRecords());
            assertEquals(stored + 1, after.lastSequence());
            List<CaptureRecord> tail = readAll(buffer, stored + 1);
            assertEquals(1, tail.size());
            CaptureRecord gap = tail.get(0);
            assertEquals(RecordKind.GAP, gap.kind());
            assertEquals(100, gap.offsetBytes());
            assertEquals((1L << 30) + 4096 - 100, gap.lengthBytes());
            assertEquals("buffer full: 5 writes not captured", gap.text());
            CaptureRecord next = appendWrite(buffer, 0, 10);
            assertNotNull(next);
            assertEquals(stored + 2, next.sequence());
        }
    }

    @Test
    void aFullBufferEveryRemoteAcknowledgedLeavesFullWhenItOpens() throws Exception {
        long stored;
        try (CaptureBuffer buffer = open(dir, TINY)) {
            buffer.registerRemote("east");
            stored = fillUntilFull(buffer);
        }
        // the remote's acknowledgement reached its cursor file only after the buffer closed (another
        // cursor removed by hand, or the last acknowledgement written as the wedge stopped)
        try (CaptureBuffer buffer = open(dir, TINY)) {
            buffer.acknowledge("east", stored);
        }
        try (CaptureBuffer buffer = open(dir, TINY)) {
            assertEquals(BufferMode.DATA, buffer.status().mode(), "no later acknowledgement is needed");
            assertEquals(1, buffer.status().gapRecords());
        }
    }

    @Test
    void aWriterWaitingForRoomBelowHighWaterGetsTheAcknowledgedActiveSegmentFreed() throws Exception {
        BufferConfig oneSegment = new BufferConfig(1L << 20, 4L << 20, 2L << 20);
        try (CaptureBuffer buffer = open(dir, oneSegment)) {
            buffer.registerRemote("east");
            CaptureRecord last = null;
            for (int i = 0; i < 100; i++) {
                last = appendWrite(buffer, i * 4096L, 4096);
            }
            buffer.acknowledge("east", last.sequence());
            long held = buffer.status().retainedBytes();
            assertTrue(held > 400_000, "below high water, the acknowledged active segment is kept: " + held);
            buffer.releaseAcknowledgedForRoom();
            assertTrue(buffer.status().retainedBytes() < 8192, "freed: " + buffer.status().retainedBytes());
            assertEquals(last.sequence() + 1, appendWrite(buffer, 0, 10).sequence());
        }
    }

    @Test
    void fullStateSurvivesReopen() throws Exception {
        long stored;
        try (CaptureBuffer buffer = open(dir, TINY)) {
            buffer.registerRemote("east");
            stored = fillUntilFull(buffer);
            assertNull(appendWrite(buffer, 8192, 4096));
        }
        try (CaptureBuffer buffer = open(dir, TINY)) {
            BufferStatus status = buffer.status();
            assertEquals(BufferMode.FULL, status.mode());
            assertEquals(2, status.lostWrites());
            assertEquals(BufferMode.FULL, CaptureBuffer.readStatus(dir).mode());
            assertNull(appendWrite(buffer, 0, 10));
            buffer.acknowledge("east", stored);
            CaptureRecord gap = readAll(buffer, stored + 1).get(0);
            assertEquals(RecordKind.GAP, gap.kind());
            assertEquals(0, gap.offsetBytes(), "the write at 0 after reopen widened the range");
            assertEquals((1L << 20) + 1000, gap.lengthBytes());
            assertEquals("buffer full: 3 writes not captured", gap.text());
        }
        try (CaptureBuffer buffer = open(dir, TINY)) {
            assertEquals(BufferMode.DATA, buffer.status().mode());
            assertEquals(1, buffer.status().gapRecords());
        }
    }

    @Test
    void nextAppendRecordsTheGapWhenSpaceIsAlreadyBack() throws Exception {
        try (CaptureBuffer buffer = open(dir, TINY)) {
            buffer.registerRemote("east");
            long stored = fillUntilFull(buffer);
            buffer.acknowledge("east", stored);
        }
        // Simulate a crash that left the state FULL with space available: the open heals it (the GAP first).
        try (CaptureBuffer buffer = open(dir, TINY)) {
            long last = buffer.lastSequence();
            buffer.close();
            BufferState healed = BufferState.read(dir.resolve(SegmentNames.STATE_FILE));
            java.nio.ByteBuffer full = new BufferState(healed.volumeId(), healed.config(), 7, 0, 512, false,
                    healed.gapRecords()).encode();
            DurableFiles.replace(dir.resolve(SegmentNames.STATE_FILE), full);
            try (CaptureBuffer reopened = open(dir, TINY)) {
                assertEquals(BufferMode.DATA, reopened.status().mode(), "healed at open: space is there");
                CaptureRecord write = appendWrite(reopened, 0, 10);
                assertEquals(last + 2, write.sequence());
                CaptureRecord gap = readAll(reopened, last + 1).get(0);
                assertEquals(RecordKind.GAP, gap.kind());
                assertEquals(512, gap.lengthBytes());
                assertEquals(BufferMode.DATA, reopened.status().mode());
            }
        }
    }

    @Test
    void tornStateFileMeansAGapOverTheWholeVolume() throws Exception {
        try (CaptureBuffer buffer = open(dir, TINY)) {
            buffer.registerRemote("east");
            appendWrite(buffer, 0, 10);
        }
        TestBuffers.flipByte(dir.resolve(SegmentNames.STATE_FILE), 40);
        try (CaptureBuffer buffer = open(dir, TINY)) {
            assertEquals(BufferMode.DATA, buffer.status().mode(), "the whole-volume GAP recorded at open");
            CaptureRecord write = appendWrite(buffer, 0, 10);
            assertEquals(3, write.sequence());
            CaptureRecord gap = readAll(buffer, 2).get(0);
            assertEquals(RecordKind.GAP, gap.kind());
            assertEquals(0, gap.offsetBytes());
            assertEquals(Long.MAX_VALUE, gap.lengthBytes());
        }
    }

    @Test
    void highWaterIsReportedBeforeFull() throws Exception {
        try (CaptureBuffer buffer = open(dir, TINY)) {
            while (buffer.status().retainedBytes() <= TINY.highWaterBytes()) {
                assertNotNull(appendWrite(buffer, 0, 500));
            }
            assertEquals(BufferMode.HIGH_WATER, buffer.status().mode());
            assertEquals(BufferMode.HIGH_WATER, CaptureBuffer.readStatus(dir).mode());
        }
    }
}
