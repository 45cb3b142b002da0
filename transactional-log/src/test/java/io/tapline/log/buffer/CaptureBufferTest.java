package io.tapline.log.buffer;

import static io.tapline.log.buffer.TestBuffers.appendWrite;
import static io.tapline.log.buffer.TestBuffers.open;
import static io.tapline.log.buffer.TestBuffers.payload;
import static io.tapline.log.buffer.TestBuffers.readAll;
import static io.tapline.log.buffer.TestBuffers.segments;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaptureBufferTest {
    private static final BufferConfig SMALL = new BufferConfig(8192, 1L << 30, 1L << 29);

    @TempDir
    Path dir;

    @Test
    void roundTripsRecordsAcrossSegmentRolls() throws Exception {
        List<CaptureRecord> written = new ArrayList<>();
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            for (int i = 0; i < 60; i++) {
                CaptureRecord r = appendWrite(buffer, i * 4096L, 500 + i * 7);
                assertEquals(i + 1, r.sequence());
                written.add(r);
            }
            written.add(buffer.append(RecordKind.FLUSH, 0, 0, 0, TestBuffers.WEDGE, null));
            written.add(buffer.append(RecordKind.MARK, 0, 0, 0, TestBuffers.WEDGE, "before-upgrade".getBytes()));
            buffer.sync();
            assertTrue(segments(dir).size() >= 5, "segments: " + segments(dir));
            assertEquals(written, readAll(buffer, 1));
            assertEquals(written.subList(40, written.size()), readAll(buffer, 41));
        }
        for (Path segment : segments(dir)) {
            assertTrue(Files.size(segment) <= 8192, segment + " " + Files.size(segment));
        }
        try (CaptureBuffer reopened = open(dir, SMALL)) {
            assertEquals(written, readAll(reopened, 1));
            assertEquals(62, reopened.recoveryReport().records());
            assertEquals(0, reopened.recoveryReport().tornTailBytes());
        }
    }

    @Test
    void encodedRecordsAreTheStoredBytesAcrossSegmentRolls() throws Exception {
        List<CaptureRecord> written = new ArrayList<>();
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            for (int i = 0; i < 40; i++) {
                written.add(appendWrite(buffer, i * 4096L, 300 + i * 11));
            }
            assertTrue(segments(dir).size() >= 3, "segments: " + segments(dir));
            for (long from : new long[] {1, 17}) {
                try (RecordReader reader = buffer.openReader(from)) {
                    for (CaptureRecord expected : written.subList((int) from - 1, written.size())) {
                        java.nio.ByteBuffer bytes = reader.nextEncoded(0);
                        assertNotNull(bytes, "seq " + expected.sequence());
                        byte[] got = new byte[bytes.remaining()];
                        bytes.get(got);
                        assertArrayEquals(io.tapline.log.RecordCodec.encode(expected), got, "seq " + expected.sequence());
                    }
                    assertNull(reader.nextEncoded(0));
                    assertEquals(41, reader.position());
                }
            }
        }
    }

    @Test
    void anEncodedRecordWhoseBytesChangedOnDiskIsRefusedWithItsPlace() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            for (int i = 0; i < 40; i++) {
                appendWrite(buffer, i * 4096L, 300 + i * 11);
            }
            buffer.sync();
            CaptureSegment second = buffer.segmentStartingAt(buffer.segmentStartingAt(1).lastSequence() + 1);
            long damaged = second.baseSequence();
            TestBuffers.flipByte(second.path(), second.headerBytes() + 120); // inside the first record's payload
            try (RecordReader reader = buffer.openReader(1)) {
                for (long seq = 1; seq < damaged; seq++) {
                    assertNotNull(reader.nextEncoded(0));
                }
                BufferCorruptException e = assertThrows(BufferCorruptException.class, () -> reader.nextEncoded(0));
                assertTrue(e.getMessage().contains(second.path() + " at offset " + second.headerBytes() + ":")
                        && e.getMessage().contains("crc32c"), e.getMessage());
            }
        }
    }

    @Test
    void sequencesStayDenseAcrossReopen() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            for (int i = 0; i < 10; i++) {
                appendWrite(buffer, 0, 100);
            }
        }
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            assertEquals(10, buffer.lastSequence());
            assertEquals(11, appendWrite(buffer, 0, 100).sequence());
            assertEquals(11, readAll(buffer, 1).size());
        }
    }

    @Test
    void readerOnAnotherThreadFollowsTheWriterAcrossRolls() throws Exception {
        int count = 3000;
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (CaptureBuffer buffer = open(dir, new BufferConfig(64 * 1024, 1L << 30, 1L << 29))) {
            Future<Integer> readerDone = pool.submit(() -> {
                try (RecordReader reader = buffer.openReader(1)) {
                    for (long seq = 1; seq <= count; seq++) {
                        CaptureRecord r = reader.next(30_000);
                        assertNotNull(r, "record " + seq);
                        assertEquals(seq, r.sequence());
                        assertArrayEquals(payload(seq, r.payload().length), r.payload());
                    }
                    return count;
                }
            });
            Random random = new Random(42);
            for (int i = 0; i < count; i++) {
                appendWrite(buffer, random.nextInt(1000) * 512L, 1 + random.nextInt(6000));
                if (i % 500 == 0) {
                    buffer.sync();
                }
            }
            assertEquals(count, readerDone.get(60, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void waitingReaderWakesWhenARecordIsAppended() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL); RecordReader reader = buffer.openReader(1)) {
            assertNull(reader.next(0));
            CompletableFuture<CaptureRecord> next = CompletableFuture.supplyAsync(() -> {
                try {
                    return reader.next(60_000);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertTrue(TestBuffers.eventually(() -> bufferHasWaiter(buffer), 10_000));
            CaptureRecord appended = appendWrite(buffer, 0, 10);
            assertEquals(appended, next.get(10, TimeUnit.SECONDS));
            assertEquals(2, reader.position());
        }
    }

    private static boolean bufferHasWaiter(CaptureBuffer buffer) {
        return buffer.waitingReaders() > 0;
    }

    @Test
    void readerPositionedPastTheEndSkipsToItsSequence() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            appendWrite(buffer, 0, 10);
            try (RecordReader reader = buffer.openReader(3)) {
                appendWrite(buffer, 0, 10);
                assertNull(reader.next(0));
                CaptureRecord third = appendWrite(buffer, 0, 10);
                assertEquals(third, reader.next(1000));
            }
        }
    }

    @Test
    void concurrentSyncsShareForcesAndSucceed() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            List<Future<?>> syncs = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                appendWrite(buffer, 0, 300);
                syncs.add(pool.submit(() -> {
                    buffer.sync();
                    return null;
                }));
            }
            for (Future<?> f : syncs) {
                f.get(30, TimeUnit.SECONDS);
            }
            buffer.sync();
            assertEquals(200, buffer.lastSequence());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void appendAfterCloseFails() throws Exception {
        CaptureBuffer buffer = open(dir, SMALL);
        buffer.close();
        assertThrows(java.io.IOException.class, () -> appendWrite(buffer, 0, 1));
    }

    @Test
    void refusesAnotherVolumesDirectory() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            appendWrite(buffer, 0, 1);
        }
        java.io.IOException e = assertThrows(java.io.IOException.class,
                () -> CaptureBuffer.open(dir, "other", SMALL));
        assertTrue(e.getMessage().contains("volumeId: vol1 (expected: other)"), e.getMessage());
    }
    @Test
    void refusesAPayloadOverTheRecordLimit() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            byte[] tooBig = new byte[io.tapline.log.RecordCodec.MAX_PAYLOAD_BYTES + 1];
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> buffer.append(RecordKind.WRITE, 0, tooBig.length, 0, TestBuffers.WEDGE, tooBig));
            assertTrue(e.getMessage().startsWith("payload: 67108865 bytes (expected: <= 67108864"), e.getMessage());
            assertEquals(0, buffer.lastSequence(), "nothing appended");
            assertEquals(1, appendWrite(buffer, 0, 1).sequence());
        }
    }

    @Test
    void rollMakesTheSealedSegmentDurableBeforeTheNextIsCreated() throws Exception {
        // A power cut after a roll must not leave an earlier segment with a torn tail: the
        // segment rolled away from is forced (and its directory entry) before the next exists.
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            for (int i = 0; i < 12; i++) {
                appendWrite(buffer, 0, 1000);
            }
            List<java.nio.file.Path> files = TestBuffers.segments(dir);
            assertTrue(files.size() >= 2, files.toString());
            long lastOfSealed = SegmentNames.baseSequenceOf(files.get(files.size() - 1)) - 1;
            assertEquals(lastOfSealed, buffer.durableSequence(), "no sync was called; the rolls forced");
        }
    }
    @Test
    void secondOpenOfTheSameDirectoryIsRefusedUntilTheFirstCloses() throws Exception {
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            appendWrite(buffer, 0, 1);
            java.io.IOException e = assertThrows(java.io.IOException.class, () -> open(dir, SMALL));
            assertEquals("buffer: " + dir + " is in use by another process (lock file " + dir.resolve(".lock") + ")",
                    e.getMessage());
            assertEquals(1, CaptureBuffer.readStatus(dir).lastSequence(), "status reads without the lock");
            assertEquals(2, appendWrite(buffer, 0, 1).sequence(), "the first holder is undisturbed");
        }
        try (CaptureBuffer buffer = open(dir, SMALL)) {
            assertEquals(2, buffer.lastSequence());
        }
    }
}
