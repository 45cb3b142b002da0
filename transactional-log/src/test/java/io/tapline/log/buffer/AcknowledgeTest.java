package io.tapline.log.buffer;

import static io.tapline.log.buffer.TestBuffers.appendWrite;
import static io.tapline.log.buffer.TestBuffers.open;
import static io.tapline.log.buffer.TestBuffers.readAll;
import static io.tapline.log.buffer.TestBuffers.segments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import io.tapline.log.RetiredFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AcknowledgeTest {
    private static final BufferConfig SMALL = new BufferConfig(4096, 1L << 30, 1L << 29);

    @TempDir
    Path dir;

    /** Appends 40 records of ~1 KiB: 3 per 4 KiB segment. */
    private static void fill(CaptureBuffer buffer) throws Exception {
        for (int i = 0; i < 40; i++) {
            appendWrite(buffer, i * 1024L, 1000);
        }
    }

    @Test
    void deletesOnlySegmentsEveryRemoteAcknowledged() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            buffer.registerRemote("east");
            buffer.registerRemote("west");
            fill(buffer);
            int before = segments(dir).size();
            buffer.acknowledge("east", 40);
            assertEquals(before, segments(dir).size(), "west has acknowledged nothing");
            buffer.acknowledge("west", 20);
            List<Path> left = segments(dir);
            assertTrue(left.size() < before);
            long first = SegmentNames.baseSequenceOf(left.get(0));
            assertTrue(first <= 21 && first > 1, "first retained " + first);
            assertEquals(first, buffer.firstSequence());
            assertEquals(first, buffer.status().firstSequence());
            SequenceNotRetainedException e = assertThrows(SequenceNotRetainedException.class,
                    () -> buffer.openReader(1));
            assertTrue(e.getMessage().contains("sequence: 1 (expected: >= " + first), e.getMessage());
            assertEquals(40 - first + 1, readAll(buffer, first).size());
        }
    }

    private long retiredFiles() throws Exception {
        try (var s = Files.list(dir)) {
            return s.filter(RetiredFiles::isRetired).count();
        }
    }

    @Test
    void acknowledgedSegmentsLeaveNoFileBehind() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            buffer.registerRemote("east");
            fill(buffer);
            int before = segments(dir).size();
            buffer.acknowledge("east", 30);
            assertTrue(segments(dir).size() < before);
            assertEquals(0, retiredFiles(), "retired under the lock, deleted after it, before acknowledge returns");
        }
    }

    @Test
    void segmentsRetiredBeforeACrashAreDeletedAtOpenAndNeverRead() throws Exception {
        List<CaptureRecord> kept;
        long first;
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            buffer.registerRemote("east");
            fill(buffer);
            buffer.acknowledge("east", 20);
            first = buffer.firstSequence();
            kept = readAll(buffer, first);
        }
        // What a cut between a segment's rename and its unlink leaves: a whole segment under its
        // retired name (here a copy of the oldest one kept, so that adopting it would show twice).
        Path oldest = segments(dir).get(0);
        Files.copy(oldest, dir.resolve(SegmentNames.segmentName(1) + RetiredFiles.SUFFIX));
        assertEquals(1, retiredFiles());
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            assertEquals(0, retiredFiles(), "deleted at open");
            assertEquals(first, buffer.firstSequence());
            assertEquals(kept, readAll(buffer, first));
        }
    }

    @Test
    void keepsEverythingWithoutRemotes() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            fill(buffer);
            assertEquals(1, buffer.firstSequence());
            assertEquals(40, readAll(buffer, 1).size());
        }
    }

    @Test
    void acknowledgmentsSurviveReopenAndNeverMoveBackwards() throws Exception {
        long first;
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            buffer.registerRemote("east");
            fill(buffer);
            buffer.acknowledge("east", 30);
            buffer.acknowledge("east", 10);
            assertEquals(30, buffer.acknowledged("east"));
            first = buffer.firstSequence();
            assertTrue(first > 1);
        }
        assertTrue(Files.exists(dir.resolve("remote-east.cursor")));
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            assertEquals(30, buffer.acknowledged("east"));
            assertEquals(first, buffer.firstSequence());
            assertEquals(40, buffer.lastSequence());
            buffer.registerRemote("east");
            assertEquals(30, buffer.acknowledged("east"), "registering again changes nothing");
            buffer.registerRemote("late");
            assertEquals(first - 1, buffer.acknowledged("late"), "a new remote starts at the oldest retained");
        }
    }

    @Test
    void rejectsBadAcknowledgments() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            buffer.registerRemote("east");
            fill(buffer);
            IllegalArgumentException beyond = assertThrows(IllegalArgumentException.class,
                    () -> buffer.acknowledge("east", 41));
            assertTrue(beyond.getMessage().startsWith("sequence: 41 (expected: <= lastSequence 40)"));
            IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                    () -> buffer.acknowledge("nobody", 1));
            assertTrue(unknown.getMessage().startsWith("remoteId: nobody (expected: a registered remote"));
            assertThrows(IllegalArgumentException.class, () -> buffer.registerRemote("../escape"));
        }
    }

    /**
     * A power cut took records a remote had applied and acknowledged (durable mode ships before the
     * host's FLUSH syncs the segment): the buffer opens, numbers past what the remote applied with
     * a GAP that says the records between are not its own, and the remote resumes there (out of
     * sync, healed by the resync of the activity log's chunks). It refused to open, and the host's
     * disk stayed down until an operator deleted the cursor by hand.
     */
    @Test
    void anAcknowledgmentBeyondWhatSurvivedAPowerCutNumbersPastItInsteadOfRefusing() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            buffer.registerRemote("east");
            fill(buffer);
            buffer.acknowledge("east", 2);
        }
        new CursorFile("east", 99, 0).write(dir.resolve("remote-east.cursor"));
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            assertEquals(100, buffer.lastSequence(), "a GAP right after what the remote applied");
            assertEquals(99, buffer.acknowledged("east"));
            try (RecordReader reader = buffer.openReader(100)) {
                CaptureRecord gap = reader.next(1000);
                assertEquals(RecordKind.GAP, gap.kind());
                assertEquals(100, gap.sequence());
                assertTrue((gap.flags() & CaptureRecord.FLAG_RECORDS_LOST) != 0);
            }
            buffer.acknowledge("east", 100);
        }
        try (CaptureBuffer again = open(dir, SMALL)) {
            assertEquals(100, again.lastSequence(), "numbered past once, durably");
        }
    }

    @Test
    void corruptCursorFileIsRefused() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            buffer.registerRemote("east");
        }
        TestBuffers.flipByte(dir.resolve("remote-east.cursor"), 10);
        BufferCorruptException e = assertThrows(BufferCorruptException.class, () -> open(dir, SMALL));
        assertTrue(e.getMessage().contains("crc32c"), e.getMessage());
        assertEquals(dir.resolve("remote-east.cursor"), e.file());
    }

    /**
     * A released remote: its cursor moves with the others' so the buffer frees what they acknowledged,
     * while status keeps what it really acknowledged (never records dropped for it as applied), across
     * a restart, until it acknowledges past the release; forgetting the remote forgets the release.
     */
    @Test
    void aReleasedRemoteFreesTheBufferButStatusKeepsItsTruthUntilItAcknowledgesPastIt() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            buffer.registerRemote("east");
            buffer.registerRemote("west");
            fill(buffer);
            buffer.acknowledge("east", 40);
            int before = segments(dir).size();
            buffer.releaseRemote("west", 40, "down for 600 s");
            assertTrue(segments(dir).size() < before, "what east acknowledged is freed");
            assertEquals(40, buffer.acknowledged("west"), "the cursor moved");
            BufferStatus st = buffer.status();
            assertEquals(0, st.acknowledged().get("west"), "status: what west really acknowledged");
            assertTrue(st.released().get("west").startsWith("released at "), st.released().toString());
            assertTrue(st.released().get("west").contains("records 1..40 dropped for it (down for 600 s)"),
                    st.released().toString());
        }
        assertEquals(0, CaptureBuffer.readStatus(dir).acknowledged().get("west"), "read from the files too");
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            assertEquals(List.of("west"), List.copyOf(buffer.releasedRemotes().keySet()), "kept across a restart");
            appendWrite(buffer, 41 * 1024L, 1000);
            buffer.acknowledge("west", 41);
            assertTrue(buffer.releasedRemotes().isEmpty(), "acknowledged past the release: ended");
            assertEquals(41, buffer.status().acknowledged().get("west"));
        }
        assertTrue(CaptureBuffer.readStatus(dir).released().isEmpty());
    }
}
