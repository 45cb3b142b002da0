package io.tapline.log.buffer;

import static io.tapline.log.buffer.TestBuffers.appendWrite;
import static io.tapline.log.buffer.TestBuffers.copyDir;
import static io.tapline.log.buffer.TestBuffers.open;
import static io.tapline.log.buffer.TestBuffers.payload;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The activity log ({@link ActivityLog}): after an unclean stop only its hot extents are tracked
 * for the resync, an extent cools down only once its writes are safe (durable and, write-once,
 * acknowledged), a batch on an event loop stops at a cold extent, and a torn or damaged log
 * falls back to the previous transaction or to every chunk. Extents here are 1 MiB, the
 * changed-chunk set's chunk, so a tracked chunk is exactly a hot extent.
 */
class ActivityLogTest {
    private static final int MIB = 1 << 20;
    private static final ActivityLogConfig TWO_HOT = new ActivityLogConfig(MIB, 2);
    private static final BufferConfig DURABLE = new BufferConfig(64 * 1024, 1L << 30, 1L << 29).withActivityLog(TWO_HOT);

    @TempDir
    Path dir;

    @Test
    void afterAKillOnlyTheHotExtentsAreTracked() throws Exception {
        Path live = dir.resolve("live");
        try (CaptureBuffer buffer = open(live, DURABLE.withActivityLog(new ActivityLogConfig(MIB, 8)))) {
            appendWrite(buffer, 3L * MIB, 4096);
            appendWrite(buffer, 5L * MIB + 4096, 8192);
            appendWrite(buffer, 6L * MIB - 2048, 4096); // spans extents 5 and 6
            assertEquals(3L * MIB, buffer.status().crashCompareBytes());
            Path copy = killed(live);
            assertEquals(Set.of(3L, 5L, 6L), trackedChunks(copy));
            try (CaptureBuffer reopened = open(copy, DURABLE)) {
                assertEquals(0, reopened.status().crashCompareBytes(), "a fresh log after recovery");
                assertEquals(3, reopened.status().trackedChunks(), "tracked until a resync drains them");
            }
        }
    }

    @Test
    void anExtentCoolsOnlyOnceItsWritesAreDurableOnBothSides() throws Exception {
        Path live = dir.resolve("live");
        try (CaptureBuffer buffer = open(live, DURABLE)) {
            appendWrite(buffer, 0, 4096);
            appendWrite(buffer, MIB, 4096);
            appendWrite(buffer, 2L * MIB, 4096); // nothing is safe yet: three hot, over the two configured
            assertEquals(Set.of(0L, 1L, 2L), trackedChunks(killed(live)));

            buffer.sync(); // the buffer is durable, but the primary was not confirmed: still not safe
            appendWrite(buffer, 3L * MIB, 4096);
            assertEquals(Set.of(0L, 1L, 2L, 3L), trackedChunks(killed(live)));

            buffer.confirmDurable(3); // extents 0..2 are safe now, 3 (seq 4) is not
            appendWrite(buffer, 4L * MIB, 4096);
            assertEquals(Set.of(3L, 4L), trackedChunks(killed(live)), "least recently written safe ones evicted");

            buffer.sync();
            buffer.confirmDurable(buffer.lastSequence());
            appendWrite(buffer, 4L * MIB + 8192, 4096); // hot already: no transaction, seq 6 keeps 4 unsafe
            appendWrite(buffer, 9L * MIB, 4096);
            assertEquals(Set.of(4L, 9L), trackedChunks(killed(live)), "3 was safe and least recent; 4 was written again");
        }
    }

    @Test
    void aWriteOnceExtentCoolsOnlyOnceEveryRemoteAcknowledgedIt() throws Exception {
        Path live = dir.resolve("live");
        try (CaptureBuffer buffer = open(live, DURABLE.withWriteOnce(true))) {
            buffer.registerRemote("east");
            appendWrite(buffer, 0, 4096);
            appendWrite(buffer, MIB, 4096);
            buffer.sync();
            buffer.confirmDurable(2); // the primary is durable, but a power cut would drop both records
            appendWrite(buffer, 2L * MIB, 4096);
            assertEquals(Set.of(0L, 1L, 2L), trackedChunks(killed(live)));

            buffer.acknowledge("east", 2);
            appendWrite(buffer, 3L * MIB, 4096);
            assertEquals(Set.of(2L, 3L), trackedChunks(killed(live)));
        }
    }

    @Test
    void aBatchReachingAColdExtentIsRefusedUnlessPrepared() throws Exception {
        try (CaptureBuffer buffer = open(dir.resolve("live"), DURABLE.withActivityLog(new ActivityLogConfig(MIB, 8)))) {
            appendWrite(buffer, 0, 4096); // extent 0 hot
            List<AppendRequest> run = List.of(write(0), write(8192), write(MIB), write(16384));
            assertEquals(0, buffer.appendBatch(run).size(), "refused whole: extent 1 needs a transaction, which fsyncs");
            assertEquals(2, buffer.appendBatch(run.subList(0, 2)).size(), "a run of hot extents is taken");
            List<AppendRequest> rest = run.subList(2, 4);
            buffer.prepare(rest);
            assertEquals(2, buffer.appendBatch(rest).size(), "prepared: extent 1 is hot");
            assertEquals(2L * MIB, buffer.status().crashCompareBytes());
        }
    }

    @Test
    void writesNotStoredAreCoveredToo() throws Exception {
        Path live = dir.resolve("live");
        try (CaptureBuffer buffer = open(live, DURABLE)) {
            buffer.pauseCapture("operator");
            assertNull(appendWrite(buffer, 7L * MIB, 4096), "paused: tracked, not stored");
            Path copy = killed(live);
            Path bits = copy.resolve(ChangedChunks.FILE);
            byte[] header = java.util.Arrays.copyOf(Files.readAllBytes(bits), ChangedChunks.HEADER_BYTES);
            Files.write(bits, header); // a power cut took the unforced bit
            assertEquals(Set.of(7L), trackedChunks(copy), "the activity log covers it");
        }
    }

    @Test
    void aTornTransactionFallsBackToThePreviousOne() throws Exception {
        ActivityLog log = ActivityLog.start(dir, TWO_HOT, 0);
        log.admit(List.of(new ActivityLog.Touch(0, 4096, 1)), 0); // transaction 2, slot 0
        log.admit(List.of(new ActivityLog.Touch(MIB, 4096, 2)), 0); // transaction 3, slot 1
        log.close();
        Path file = dir.resolve(ActivityLog.FILE);
        assertArrayEquals(new int[] {0, 1}, ActivityLog.read(dir).extents());
        flip(file, 4096 + ActivityLog.HEADER_BYTES); // slot 1's bitmap: its CRC fails
        assertArrayEquals(new int[] {0}, ActivityLog.read(dir).extents());
        flip(file, 8); // slot 0's header too
        ActivityLog.Recovered none = ActivityLog.read(dir);
        assertFalse(none.readable());
        assertTrue(none.problem().contains("no slot passes"), none.problem());
    }

    @Test
    void coldThroughStartsAtTheBuffersLastRecordAndRisesToTheNewestWriteAnEvictionCooled() throws Exception {
        ActivityLog log = ActivityLog.start(dir, TWO_HOT, 10);
        assertEquals(10, ActivityLog.read(dir).coldThrough(), "earlier runs' writes are all in cold extents");
        log.admit(List.of(new ActivityLog.Touch(0, 4096, 11), new ActivityLog.Touch(MIB, 4096, 12)), 0);
        log.admit(List.of(new ActivityLog.Touch(2L * MIB, 4096, 13)), 0); // none safe: nothing cooled
        assertEquals(10, ActivityLog.read(dir).coldThrough());
        log.admit(List.of(new ActivityLog.Touch(3L * MIB, 4096, 14)), 12); // cools extents 0 (11) and 1 (12)
        assertEquals(12, log.coldThrough());
        log.close();
        ActivityLog.Recovered newest = ActivityLog.read(dir);
        assertArrayEquals(new int[] {2, 3}, newest.extents());
        assertEquals(12, newest.coldThrough());
        flip(dir.resolve(ActivityLog.FILE), ActivityLog.HEADER_BYTES - 3); // the newest slot's (transaction 4, slot 0) coldThrough
        ActivityLog.Recovered previous = ActivityLog.read(dir);
        assertArrayEquals(new int[] {0, 1, 2}, previous.extents()); // a damaged coldThrough fails the slot's CRC
        assertEquals(10, previous.coldThrough());
    }

    @Test
    void aVersion1LogIsReadWithoutAColdThrough() throws Exception {
        java.nio.ByteBuffer v1 = java.nio.ByteBuffer.allocate(2 * 4096);
        v1.putInt(ActivityLog.MAGIC).putShort((short) 1).putShort((short) 0).putInt(MIB).putInt(4096).putLong(1)
                .putInt(1).putInt(0).put((byte) 0b101);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(v1.array(), 0, 28);
        crc.update(v1.array(), 32, 1);
        v1.putInt(28, (int) crc.getValue());
        Files.write(dir.resolve(ActivityLog.FILE), v1.array());
        ActivityLog.Recovered read = ActivityLog.read(dir);
        assertTrue(read.readable(), String.valueOf(read.problem()));
        assertArrayEquals(new int[] {0, 2}, read.extents());
        assertEquals(-1, read.coldThrough(), "version 1 does not say");
    }

    @Test
    void aPowerCutOfAWriteOnceBufferTracksTheHotExtentsForReplicasThatHadAppliedColdThrough() throws Exception {
        BufferConfig writeOnce = DURABLE.withWriteOnce(true);
        Path live = dir.resolve("live");
        Path copy;
        try (CaptureBuffer buffer = open(live, writeOnce)) {
            twoExtentsCooledOnceAcknowledged(buffer);
            copy = killed(live);
            assertEquals(2, buffer.status().powerCutCoveredFrom());
            assertEquals(2, CaptureBuffer.readStatus(live).powerCutCoveredFrom(), "as another process reads it");
            assertTrue(buffer.status().powerCutCoversEveryRemote(), "r1 acknowledged seq 2");
            buffer.registerRemote("r2");
            assertFalse(buffer.status().powerCutCoversEveryRemote(), "r2 acknowledged nothing yet");
        }
        TestBuffers.simulateReboot(copy); // a power cut: the unforced segments are gone
        try (CaptureBuffer reopened = open(copy, writeOnce)) {
            assertTrue(reopened.uncleanShutdown());
            long floor = reopened.lastSequence() - 1;
            assertTrue(floor >= 4, "floor " + floor);
            assertEquals(2, reopened.changedChunks().sinceSequence(),
                    "a replica that applied seq 2 misses writes into the hot extents only");
            try (RecordReader reader = reopened.openReader(reopened.firstSequence())) {
                io.tapline.log.CaptureRecord gap = reader.next(1000);
                assertEquals(floor + 1, gap.sequence());
                assertTrue(gap.recordsLostBefore(), "the first record says the records before it are lost: " + gap);
            }
            assertEquals(floor + 2, appendWrite(reopened, 0, 4096).sequence());
            assertEquals(1, reopened.status().gapRecords(), "status counts the GAP");
        }
        assertEquals(Set.of(2L, 3L), readTrackedChunks(copy));
    }

    @Test
    void aPowerCutWithNothingHotTracksOneExtentSoThatAComparisonNotTheVolumeHealsTheReplicas() throws Exception {
        BufferConfig writeOnce = DURABLE.withWriteOnce(true);
        Path live = dir.resolve("live");
        try (CaptureBuffer buffer = open(live, writeOnce)) {
            buffer.registerRemote("r1");
            appendWrite(buffer, 5L * MIB, 4096);
            buffer.sync();
            buffer.acknowledge("r1", 1);
        }
        Path copy;
        try (CaptureBuffer idle = open(live, writeOnce)) { // a clean start; the host writes nothing
            assertEquals(MIB, idle.status().crashCompareBytes(), "a cut now compares one extent, not 0 bytes");
            assertEquals(MIB, CaptureBuffer.readStatus(live).crashCompareBytes(), "as another process reads it");
            copy = killed(live);
        }
        TestBuffers.simulateReboot(copy);
        try (CaptureBuffer reopened = open(copy, writeOnce)) {
            assertTrue(reopened.uncleanShutdown());
            assertFalse(reopened.changedChunks().isEmpty(), "an empty set would make the resync compare every chunk");
        }
        assertEquals(Set.of(0L), readTrackedChunks(copy));
    }

    @Test
    void aSecondPowerCutBeforeTheResyncStillHealsAReplicaThatKeptUpWithTheHotExtents() throws Exception {
        BufferConfig writeOnce = DURABLE.withWriteOnce(true);
        Path live = dir.resolve("live");
        Path first;
        try (CaptureBuffer buffer = open(live, writeOnce)) {
            twoExtentsCooledOnceAcknowledged(buffer);
            first = killed(live);
        }
        TestBuffers.simulateReboot(first);
        Path second;
        try (CaptureBuffer restarted = open(first, writeOnce)) { // the replica, at seq 4, has not connected yet
            appendWrite(restarted, 5L * MIB, 4096);
            second = killed(first);
        }
        TestBuffers.simulateReboot(second);
        try (CaptureBuffer reopened = open(second, writeOnce)) {
            assertEquals(2, reopened.changedChunks().sinceSequence(), "the replica at seq 4 is still healed by the set");
        }
        assertEquals(Set.of(2L, 3L, 5L), readTrackedChunks(second), "both cuts' hot extents");
    }

    @Test
    void anUnreadableLogTracksEveryChunk() throws Exception {
        Path live = dir.resolve("live");
        try (CaptureBuffer buffer = open(live, DURABLE)) {
            appendWrite(buffer, 0, 4096);
            Path copy = killed(live);
            Files.write(copy.resolve(ActivityLog.FILE), new byte[8192]);
            try (CaptureBuffer reopened = open(copy, DURABLE)) {
                assertEquals(-1, reopened.status().trackedChunks());
            }
        }
    }

    @Test
    void aRunWithoutALogTracksEveryChunkAfterItAndRemovesAStaleOne() throws Exception {
        Path live = dir.resolve("live");
        BufferConfig off = DURABLE.withActivityLog(ActivityLogConfig.OFF);
        try (CaptureBuffer buffer = open(live, DURABLE)) {
            appendWrite(buffer, 0, 4096);
            Path copy = killed(live);
            try (CaptureBuffer reopened = open(copy, off)) {
                assertEquals(1, reopened.status().trackedChunks(), "the last run's log is still read");
                assertFalse(Files.exists(copy.resolve(ActivityLog.FILE)), "and then removed");
                assertEquals(BufferStatus.WHOLE_VOLUME, reopened.status().crashCompareBytes());
                appendWrite(reopened, 5L * MIB, 4096);
                Path again = killed(copy);
                try (CaptureBuffer third = open(again, off)) {
                    assertEquals(-1, third.status().trackedChunks(), "without a log a kill tracks every chunk");
                }
            }
        }
    }

    @Test
    void aCleanCloseLeavesNothingToCompare() throws Exception {
        Path live = dir.resolve("live");
        try (CaptureBuffer buffer = open(live, DURABLE)) {
            appendWrite(buffer, 0, 4096);
        }
        assertEquals(0, CaptureBuffer.readStatus(live).crashCompareBytes());
        try (CaptureBuffer buffer = open(live, DURABLE)) {
            assertFalse(buffer.uncleanShutdown());
            assertEquals(0, buffer.status().trackedChunks());
        }
    }

    @Test
    void theBitmapGrowsPastASlot() throws Exception {
        ActivityLog log = ActivityLog.start(dir, new ActivityLogConfig(4096, 4), 0);
        long far = 100_000L * 4096; // extent 100,000: a 12.5 KB bitmap, past a 4 KiB slot
        log.admit(List.of(new ActivityLog.Touch(far, 4096, 1), new ActivityLog.Touch(0, 4096, 1)), 0);
        log.admit(List.of(new ActivityLog.Touch(8192, 4096, 2)), 0);
        log.close();
        assertArrayEquals(new int[] {0, 2, 100_000}, ActivityLog.read(dir).extents());
        assertTrue(Files.size(dir.resolve(ActivityLog.FILE)) > 2 * 4096, "replaced with larger slots");
    }

    @Test
    void aTransactionWritesOnlyThePagesThatChanged() throws Exception {
        ActivityLog log = ActivityLog.start(dir, new ActivityLogConfig(4096, 16), 0);
        log.admit(List.of(new ActivityLog.Touch(0, 4096, 1), new ActivityLog.Touch(100_000L * 4096, 4096, 1)), 0);
        long pages = log.pagesWritten(); // grown: 12.5 KB of bitmap, the file replaced with 16 KiB slots
        log.admit(List.of(new ActivityLog.Touch(4096, 4096, 2)), 0);
        assertEquals(pages + 1, log.pagesWritten(), "extent 1 is on the header's page");
        log.admit(List.of(new ActivityLog.Touch(2 * 4096, 4096, 3)), 0);
        assertEquals(pages + 2, log.pagesWritten(), "the other slot: its header page");
        log.admit(List.of(new ActivityLog.Touch(90_000L * 4096, 4096, 4)), 0);
        assertEquals(pages + 4, log.pagesWritten(), "the header page and extent 90,000's");
        log.close();
        assertArrayEquals(new int[] {0, 1, 2, 90_000, 100_000}, ActivityLog.read(dir).extents());
        int slotBytes = 16 << 10;
        flip(dir.resolve(ActivityLog.FILE), slotBytes * (5 & 1) + ActivityLog.HEADER_BYTES + 90_000 / 8);
        assertArrayEquals(new int[] {0, 1, 2, 100_000}, ActivityLog.read(dir).extents(),
                "a damaged page of the newest transaction fails its slot: the previous one is the state");
    }

    // ---- helpers ----

    private static AppendRequest write(long offset) {
        return TestBuffers.writeRequest(offset, payload(offset, 4096));
    }

    private int copies;

    /** What a kill -9 leaves of a running buffer: a copy of its directory (the page cache holds every write). */
    private Path killed(Path live) throws IOException {
        Path copy = dir.resolve("killed-" + copies++);
        copyDir(live, copy);
        return copy;
    }

    /**
     * Writes seqs 1 and 2 into extents 0 and 1, makes them safe (synced, confirmed, acknowledged by
     * r1), then seqs 3 and 4 into extents 2 and 3: with two hot extents at most, 0 and 1 cool.
     */
    private static void twoExtentsCooledOnceAcknowledged(CaptureBuffer buffer) throws IOException {
        buffer.registerRemote("r1");
        appendWrite(buffer, 0, 4096); // seq 1
        appendWrite(buffer, MIB, 4096); // seq 2
        buffer.sync();
        buffer.confirmDurable(2);
        buffer.acknowledge("r1", 2); // safe through 2
        appendWrite(buffer, 2L * MIB, 4096); // seq 3: extent 0 cools (coldThrough 1)
        appendWrite(buffer, 3L * MIB, 4096); // seq 4: extent 1 cools (coldThrough 2)
    }

    /** The chunk indexes an unclean reopen of {@code copy} tracks (opens and closes it). */
    private static Set<Long> trackedChunks(Path copy) throws IOException {
        try (CaptureBuffer reopened = open(copy, DURABLE)) {
            assertTrue(reopened.uncleanShutdown());
        }
        return readTrackedChunks(copy);
    }

    /** The chunk indexes {@code dir}'s changed-chunk set holds (never the whole volume). */
    private static Set<Long> readTrackedChunks(Path dir) throws IOException {
        Set<Long> chunks = new TreeSet<>();
        List<long[]> ranges = ChangedChunks.readRanges(dir, 1000);
        for (long[] r : ranges) {
            assertTrue(r[1] != Long.MAX_VALUE, "whole volume tracked");
            for (long c = r[0] / MIB; c < (r[0] + r[1]) / MIB; c++) {
                chunks.add(c);
            }
        }
        return chunks;
    }

    private static void flip(Path file, long offset) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ 0x5A);
        }
    }

    private static void assertArrayEquals(int[] expected, int[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual);
    }

    private static void assertArrayEquals(int[] expected, int[] actual, String message) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual, message);
    }
}
