package io.tapline.log.buffer;

import static io.tapline.log.buffer.TestBuffers.appendWrite;
import static io.tapline.log.buffer.TestBuffers.copyDir;
import static io.tapline.log.buffer.TestBuffers.flipByte;
import static io.tapline.log.buffer.TestBuffers.open;
import static io.tapline.log.buffer.TestBuffers.readAll;
import static io.tapline.log.buffer.TestBuffers.segments;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The write-once buffer ({@link BufferConfig#writeOnce}): records are never forced while it runs,
 * a clean close keeps every record, a kill -9 in the same boot keeps every record too, and every
 * state a power cut can leave (segments torn, emptied, missing, damaged; a damaged floor) reopens
 * past every sequence appended before, with every chunk tracked for a resync.
 */
class WriteOnceBufferTest {
    /** Segments roll at 64 KiB, so a few hundred records span several of them. */
    private static final BufferConfig WRITE_ONCE = new BufferConfig(64 * 1024, 1L << 30, 1L << 29).withWriteOnce(true);
    private static final BufferConfig DURABLE = new BufferConfig(64 * 1024, 1L << 30, 1L << 29);

    @TempDir
    Path dir;

    @Test
    void recordsAreNotForcedButTheirSequencesAreReservedDurablyAhead() throws Exception {
        Path vol = dir.resolve("vol");
        try (CaptureBuffer buffer = open(vol, WRITE_ONCE)) {
            for (int i = 0; i < 100; i++) {
                appendWrite(buffer, i * 4096L, 3000);
            }
            buffer.sync();
            assertTrue(segments(vol).size() >= 4, "several rolls: " + segments(vol));
            assertEquals(0, buffer.durableSequence(), "neither a roll nor a sync forced a record");
            assertEquals(SequenceReservation.BLOCK, SequenceReservation.read(vol.resolve(SequenceReservation.FILE)));
            assertEquals(BufferStatus.WRITE_ONCE, buffer.status().durability());
            assertEquals(BufferStatus.WRITE_ONCE, CaptureBuffer.readStatus(vol).durability());
        }
    }

    @Test
    void aReservationIsExtendedBeforeASequencePastIt() throws Exception {
        SequenceReservation r = SequenceReservation.begin(dir, 0);
        Path file = dir.resolve(SequenceReservation.FILE);
        assertEquals(SequenceReservation.BLOCK, r.reservedThrough());
        r.cover(SequenceReservation.BLOCK);
        assertEquals(SequenceReservation.BLOCK, SequenceReservation.read(file), "still inside the block");
        r.cover(SequenceReservation.BLOCK + 1);
        assertEquals(2 * SequenceReservation.BLOCK + 1, SequenceReservation.read(file));
        SequenceReservation.end(dir);
        assertFalse(Files.exists(file));
    }

    /**
     * A batch that would use sequences past the reservation is not appended in one write (the
     * caller, maybe an event loop, must not wait for the reservation's fsync); appended one by one,
     * its records extend the reservation before they are stored.
     */
    @Test
    void aBatchStopsAtTheReservationsEndAndSingleAppendsExtendIt() throws Exception {
        Path vol = dir.resolve("vol");
        try (CaptureBuffer buffer = open(vol, WRITE_ONCE)) {
            buffer.reserveInBlocksOf(10); // sequences 1..10 reserved
            assertEquals(5, buffer.appendBatch(requests(5)).size(), "inside the reservation");
            assertEquals(List.of(), buffer.appendBatch(requests(6)), "6..11 passes the reserved 10");
            assertEquals(10, SequenceReservation.read(vol.resolve(SequenceReservation.FILE)));
            for (int i = 0; i < 6; i++) {
                appendWrite(buffer, 0, 100);
            }
            assertEquals(11, buffer.lastSequence());
            assertEquals(21, SequenceReservation.read(vol.resolve(SequenceReservation.FILE)), "reserved from 11");
            assertEquals(5, buffer.appendBatch(requests(5)).size(), "12..16 inside the new reservation");
        }
    }

    private static List<AppendRequest> requests(int n) {
        List<AppendRequest> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(new AppendRequest.Plain(RecordKind.WRITE, i * 4096L, 100, 0, TestBuffers.WEDGE, new byte[100]));
        }
        return list;
    }

    @Test
    void aCleanCloseKeepsEveryRecordAndAcknowledgedSegmentsAreDeleted() throws Exception {
        Path vol = dir.resolve("vol");
        List<CaptureRecord> written = new ArrayList<>();
        try (CaptureBuffer buffer = open(vol, WRITE_ONCE)) {
            buffer.registerRemote("r1");
            for (int i = 0; i < 200; i++) {
                written.add(appendWrite(buffer, i * 4096L, 2000));
            }
            buffer.acknowledge("r1", 100);
            assertTrue(buffer.firstSequence() > 1, "acknowledged segments left: first " + buffer.firstSequence());
        }
        try (CaptureBuffer reopened = open(vol, WRITE_ONCE)) {
            assertFalse(reopened.uncleanShutdown());
            assertEquals(0, reopened.status().trackedChunks());
            long first = reopened.firstSequence();
            assertEquals(written.subList((int) first - 1, written.size()), readAll(reopened, first));
        }
    }

    @Test
    void everyStateAPowerCutCanLeaveStartsPastTheFloorWithEveryChunkTracked() throws Exception {
        Map<String, Consumer<Path>> cuts = Map.of(
                "power cut, the disk had every page", v -> { },
                "every segment's tail lost", v -> eachSegment(v, s -> truncate(s, Files.size(s) / 3)),
                "every segment emptied", v -> eachSegment(v, s -> truncate(s, 0)),
                "newest segment's directory entry lost", v -> delete(last(v)),
                "every segment lost", v -> eachSegment(v, WriteOnceBufferTest::delete),
                "a record in the middle damaged", v -> eachSegment(v, s -> flip(s, Files.size(s) / 2)));
        for (Map.Entry<String, Consumer<Path>> cut : cuts.entrySet()) {
            Path live = dir.resolve("live-" + cut.getKey().hashCode());
            Path copy = dir.resolve("cut-" + cut.getKey().hashCode());
            long last;
            CaptureBuffer buffer = open(live, WRITE_ONCE);
            try {
                buffer.registerRemote("r1");
                for (int i = 0; i < 150; i++) {
                    appendWrite(buffer, i * 4096L, 2500);
                }
                buffer.acknowledge("r1", 40);
                buffer.sync();
                last = buffer.lastSequence();
                copyDir(live, copy);
            } finally {
                buffer.close();
            }
            cut.getValue().accept(copy);
            TestBuffers.simulateReboot(copy);
            long floor = SequenceReservation.read(copy.resolve(SequenceReservation.FILE));
            try (CaptureBuffer reopened = open(copy, WRITE_ONCE)) {
                String what = cut.getKey();
                assertTrue(reopened.uncleanShutdown(), what);
                assertTrue(floor >= last, what + ": floor " + floor + " below the last appended " + last);
                assertEquals(floor + 1, reopened.lastSequence(), what + ": one record, the GAP");
                assertEquals(floor + 1, reopened.firstSequence(), what);
                assertEquals(-1, reopened.status().trackedChunks(), what + ": every chunk tracked");
                assertThrows(SequenceNotRetainedException.class, () -> reopened.openReader(41), what);
                try (RecordReader reader = reopened.openReader(floor + 1)) {
                    assertTrue(reader.next(1000).recordsLostBefore(), what + ": the GAP says records were lost");
                }
                assertEquals(floor + 2, appendWrite(reopened, 0, 100).sequence(), what);
                assertEquals(BufferStatus.WRITE_ONCE, reopened.status().durability(), what);
            }
        }
    }

    @Test
    void aKillInTheSameBootKeepsEveryRecordAsTheDurableModeDoes() throws Exception {
        Path live = dir.resolve("live");
        Path copy = dir.resolve("copy");
        List<CaptureRecord> written = new ArrayList<>();
        CaptureBuffer buffer = open(live, WRITE_ONCE);
        try {
            buffer.registerRemote("r1");
            for (int i = 0; i < 150; i++) {
                written.add(appendWrite(buffer, i * 4096L, 2500));
            }
            buffer.acknowledge("r1", 40);
            copyDir(live, copy); // what kill -9 leaves: the page cache holds every write
        } finally {
            buffer.close();
        }
        try (CaptureBuffer reopened = open(copy, WRITE_ONCE)) {
            assertTrue(reopened.uncleanShutdown());
            assertEquals(-1, reopened.status().trackedChunks(), "every chunk tracked, as after any unclean stop");
            assertEquals(150, reopened.lastSequence());
            assertEquals(written.subList(40, 150), readAll(reopened, 41), "the records a replica still needs");
        }
    }

    @Test
    void aDamagedFloorStartsPastEverySequenceTheDirectoryNames() throws Exception {
        Path copy = killedAfter(50);
        flipByte(copy.resolve(SequenceReservation.FILE), 10);
        try (CaptureBuffer reopened = open(copy, WRITE_ONCE)) {
            assertTrue(reopened.firstSequence() > SequenceReservation.DAMAGED_MARGIN + 50,
                    "first " + reopened.firstSequence());
            assertEquals(-1, reopened.status().trackedChunks());
        }
    }

    @Test
    void theDurableModeAfterAWriteOnceCrashStillStartsPastTheFloorAndEndsTheReservation() throws Exception {
        Path copy = killedAfter(50);
        TestBuffers.simulateReboot(copy);
        try (CaptureBuffer reopened = open(copy, DURABLE)) {
            assertEquals(SequenceReservation.BLOCK + 1, reopened.firstSequence());
            assertFalse(Files.exists(copy.resolve(SequenceReservation.FILE)), "durable mode: no reservation");
            assertEquals(BufferStatus.DURABLE, reopened.status().durability());
            CaptureRecord r = reopened.append(RecordKind.FLUSH, 0, 0, 0, TestBuffers.WEDGE, null);
            reopened.sync();
            assertEquals(r.sequence(), reopened.durableSequence(), "durable mode forces again");
        }
        assertEquals(BufferStatus.DURABLE, CaptureBuffer.readStatus(copy).durability());
    }

    /** The directory a write-once buffer leaves when killed after {@code appends} records (a copy of it). */
    private Path killedAfter(int appends) throws IOException {
        Path live = dir.resolve("live");
        Path copy = dir.resolve("copy");
        CaptureBuffer buffer = open(live, WRITE_ONCE);
        try {
            for (int i = 0; i < appends; i++) {
                appendWrite(buffer, 0, 2500);
            }
            copyDir(live, copy);
        } finally {
            buffer.close();
        }
        return copy;
    }

    private static void eachSegment(Path vol, IoConsumer action) {
        try {
            for (Path s : segments(vol)) {
                action.accept(s);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static Path last(Path vol) {
        try {
            List<Path> all = segments(vol);
            return all.get(all.size() - 1);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void truncate(Path file, long size) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size);
        }
    }

    private static void flip(Path file, long offset) throws IOException {
        flipByte(file, offset);
    }

    private static void delete(Path file) {
        try {
            Files.delete(file);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A file action that may throw. */
    private interface IoConsumer {
        void accept(Path file) throws IOException;
    }
}
