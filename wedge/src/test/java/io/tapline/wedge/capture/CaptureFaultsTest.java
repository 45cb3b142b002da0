package io.tapline.wedge.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.RecordReader;
import io.tapline.log.volume.VolumeFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults at the source's file boundary ({@link FaultyFileChannel} in place of the real channel
 * of the primary {@link VolumeFile} or of the capture buffer's active segment), through the real
 * sequencer and capture buffer. The host sees an error only where NBD says it must (its write did
 * not reach the primary, or a FLUSH/FUA could not be made durable); no acknowledged byte is lost;
 * a storage fault that clears (EIO or ENOSPC on a write) heals by itself, a failed fsync leaves
 * the volume failed with its reason until restart, and the restart tracks every chunk.
 */
class CaptureFaultsTest {
    private static final int SIZE = 1 << 20;
    private static final Provenance PROV = new Provenance(Bus.WEDGE, "test", "vol", 1, 0, 1);

    @TempDir
    Path dir;
    private CaptureBuffer buffer;
    private VolumeFile primary;
    private VolumeSequencer sequencer;
    private final VolumeSequencerTest.Outcomes o = new VolumeSequencerTest.Outcomes();
    private int submitted;

    @BeforeEach
    void open() throws Exception {
        buffer = CaptureBuffer.open(dir.resolve("buffer"), "vol", BufferConfig.DEFAULT);
        primary = VolumeFile.openOrCreate(dir.resolve("primary.img"), SIZE);
        sequencer = VolumeSequencer.start("vol", primary, CaptureSink.of(buffer));
    }

    @AfterEach
    void close() throws Exception {
        sequencer.close();
        buffer.close();
        primary.close();
    }

    private WriteOutcome write(long offset, int length, int value, int flags) throws Exception {
        byte[] data = new byte[length];
        Arrays.fill(data, (byte) value);
        sequencer.submit(o.command(RecordKind.WRITE, offset, length, flags, data));
        return o.await(submitted++);
    }

    private WriteOutcome flush() throws Exception {
        sequencer.submit(o.command(RecordKind.FLUSH, 0, 0, 0, null));
        return o.await(submitted++);
    }

    private byte[] onPrimary(long offset, int length) throws Exception {
        byte[] b = new byte[length];
        primary.read(offset, ByteBuffer.wrap(b));
        return b;
    }

    private static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private FaultyFileChannel segmentFaults() throws ReflectiveOperationException {
        return FaultyFileChannel.install(FaultyFileChannel.field(buffer, "active"), "channel");
    }

    private List<CaptureRecord> records() throws Exception {
        List<CaptureRecord> out = new ArrayList<>();
        try (RecordReader r = buffer.openReader(1)) {
            for (CaptureRecord c = r.next(0); c != null; c = r.next(0)) {
                out.add(c);
            }
        }
        return out;
    }

    @Test
    void eioOnBufferWritesNeverFailsTheHostAndHealsWhenTheFaultClears() throws Exception {
        assertEquals(WriteOutcome.OK, write(0, 4096, 'a', 0));
        FaultyFileChannel segment = segmentFaults();
        segment.failWrites = true;
        assertEquals(WriteOutcome.OK, write(8192, 4096, 'b', 0), "the host comes first");
        assertEquals(WriteOutcome.OK, flush(), "nothing the host wrote is at risk: the primary holds it");
        assertTrue(buffer.storageError().contains(FaultyFileChannel.EIO), buffer.storageError());
        assertTrue(buffer.changedChunks().count() > 0, "the uncaptured write's chunk is tracked");
        assertArrayEquals(filled(4096, 'b'), onPrimary(8192, 4096));

        segment.clear();
        long deadline = System.nanoTime() + 10_000_000_000L;
        int value = 'c';
        while (!buffer.storageError().isEmpty()) { // appends retry about once a second
            assertTrue(System.nanoTime() < deadline, "still failing: " + buffer.storageError());
            assertEquals(WriteOutcome.OK, write(16384, 4096, value++, 0));
            Thread.sleep(20);
        }
        assertEquals(WriteOutcome.OK, flush());
        assertEquals("", sequencer.failure());
        List<CaptureRecord> records = records();
        assertTrue(records.stream().anyMatch(r -> r.kind() == RecordKind.GAP), "the lost writes became a GAP: "
                + records);
        assertArrayEquals(filled(4096, 'a'), onPrimary(0, 4096), "acknowledged before the fault, still there");
    }

    @Test
    void aBufferWhoseSpaceReturnedLeavesFullWithoutAnotherHostWrite() throws Exception {
        FaultyFileChannel segment = segmentFaults();
        segment.spaceEndsAtByte = 0; // the buffer's filesystem is full
        assertEquals(WriteOutcome.OK, write(0, 4096, 'a', 0));
        assertEquals(io.tapline.log.buffer.BufferMode.FULL, buffer.status().mode());
        segment.clear(); // space returns; the host writes nothing more
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!buffer.retryFull()) { // what the resync engine polls: refused until the retry time has passed
            assertTrue(System.nanoTime() < deadline, "still FULL: " + buffer.status());
            Thread.sleep(20);
        }
        assertEquals(io.tapline.log.buffer.BufferMode.DATA, buffer.status().mode());
        assertEquals("", buffer.storageError());
        assertEquals(RecordKind.GAP, records().get(0).kind(), "the lost write is named by a GAP");
    }

    @Test
    void eioOnBufferFsyncFailsTheVolumeUntilRestart() throws Exception {
        assertEquals(WriteOutcome.OK, write(0, 4096, 'a', 0));
        assertEquals(WriteOutcome.OK, flush());
        FaultyFileChannel segment = segmentFaults();
        assertEquals(WriteOutcome.OK, write(4096, 4096, 'b', 0));
        segment.failForce = true;
        assertEquals(WriteOutcome.IO_ERROR, flush());
        segment.clear(); // the retried fsync would now succeed, with the data possibly gone
        assertEquals(WriteOutcome.IO_ERROR, flush(), "no FLUSH succeeds after a failed fsync");
        assertEquals(WriteOutcome.IO_ERROR, write(8192, 4096, 'c', CaptureRecord.FLAG_FUA));
        assertEquals(WriteOutcome.IO_ERROR, write(12288, 4096, 'd', 0));
        assertTrue(sequencer.failure().contains(FaultyFileChannel.EIO), sequencer.failure());
        assertTrue(buffer.storageError().contains("capture buffer sync failed"), buffer.storageError());
        assertArrayEquals(filled(4096, 'a'), onPrimary(0, 4096), "acknowledged and flushed: kept");
        assertArrayEquals(new byte[4096], onPrimary(12288, 4096), "refused: not applied");

        sequencer.close();
        buffer.close();
        assertFalse(Files.exists(dir.resolve("buffer").resolve("clean.shutdown")), "no clean shutdown claimed");
        buffer = CaptureBuffer.open(dir.resolve("buffer"), "vol", BufferConfig.DEFAULT);
        assertTrue(buffer.uncleanShutdown());
        assertEquals(-1, buffer.status().trackedChunks(), "every chunk tracked: a resync heals the replica");
        sequencer = VolumeSequencer.start("vol", primary, CaptureSink.of(buffer));
        assertEquals(WriteOutcome.OK, flush(), "a restart serves again");
    }

    @Test
    void enospcAtSomeByteOfThePrimaryFailsThatWriteOnlyAndHealsWhenSpaceReturns() throws Exception {
        assertEquals(WriteOutcome.OK, write(0, 4096, 'a', 0));
        FaultyFileChannel disk = FaultyFileChannel.install(primary, "channel");
        disk.spaceEndsAtByte = 10_000;
        assertEquals(WriteOutcome.NO_SPACE, write(8192, 4096, 'b', 0), "the host is told: it did not fit (ENOSPC)");
        assertEquals(WriteOutcome.OK, flush(), "a write error is not an fsync error: the volume goes on");
        assertEquals(WriteOutcome.OK, write(4096, 4096, 'c', 0), "below the full byte");
        List<CaptureRecord> records = records();
        CaptureRecord gap = records.get(2);
        assertEquals(RecordKind.GAP, gap.kind(), records.toString());
        assertEquals(8192, gap.offsetBytes());
        assertEquals(4096, gap.lengthBytes());
        assertTrue(buffer.changedChunks().count() > 0, "the failed write's range is tracked for the resync");

        disk.clear(); // space returns
        assertEquals(WriteOutcome.OK, write(8192, 4096, 'b', 0));
        assertEquals(WriteOutcome.OK, flush());
        assertArrayEquals(filled(4096, 'a'), onPrimary(0, 4096));
        assertArrayEquals(filled(4096, 'c'), onPrimary(4096, 4096));
        assertArrayEquals(filled(4096, 'b'), onPrimary(8192, 4096));
        assertEquals("", sequencer.failure());
    }

    @Test
    void eioOnPrimaryFsyncFailsTheVolumeAndTheBufferShowsWhy() throws Exception {
        assertEquals(WriteOutcome.OK, write(0, 4096, 'a', 0));
        FaultyFileChannel disk = FaultyFileChannel.install(primary, "channel");
        disk.failForce = true;
        assertEquals(WriteOutcome.IO_ERROR, write(4096, 4096, 'b', CaptureRecord.FLAG_FUA));
        disk.clear();
        assertEquals(WriteOutcome.IO_ERROR, flush(), "no FLUSH succeeds after a failed fsync");
        assertTrue(buffer.storageError().contains("primary fsync failed: " + FaultyFileChannel.EIO),
                buffer.storageError());
        sequencer.close();
        buffer.close();
        assertFalse(Files.exists(dir.resolve("buffer").resolve("clean.shutdown")), "no clean shutdown claimed");
        buffer = CaptureBuffer.open(dir.resolve("buffer"), "vol", BufferConfig.DEFAULT);
        sequencer = VolumeSequencer.start("vol", primary, CaptureSink.of(buffer));
        assertTrue(buffer.uncleanShutdown());
    }

    @Test
    void eioOnThePrimaryFsyncAtCloseLeavesNoCleanShutdown() throws Exception {
        assertEquals(WriteOutcome.OK, write(0, 4096, 'a', 0));
        FaultyFileChannel disk = FaultyFileChannel.install(primary, "channel");
        disk.failForce = true;
        assertThrowsIo(sequencer::close);
        buffer.close();
        assertFalse(Files.exists(dir.resolve("buffer").resolve("clean.shutdown")), "no clean shutdown claimed");
        disk.clear();
        buffer = CaptureBuffer.open(dir.resolve("buffer"), "vol", BufferConfig.DEFAULT);
        sequencer = VolumeSequencer.start("vol", primary, CaptureSink.of(buffer));
        assertTrue(buffer.uncleanShutdown(), "the restart tracks every chunk");
    }

    private static void assertThrowsIo(org.junit.jupiter.api.function.Executable e) {
        org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, e);
    }

    @Test
    void eioOnAPrimaryWriteFailsThatWriteWithAGapAndTheNextSucceeds() throws Exception {
        FaultyFileChannel disk = FaultyFileChannel.install(primary, "channel");
        disk.failWrites = true;
        assertEquals(WriteOutcome.IO_ERROR, write(0, 4096, 'a', 0));
        disk.clear();
        assertEquals(WriteOutcome.OK, write(0, 4096, 'b', CaptureRecord.FLAG_FUA));
        List<CaptureRecord> records = records();
        assertEquals(List.of(RecordKind.WRITE, RecordKind.GAP, RecordKind.WRITE),
                records.stream().map(CaptureRecord::kind).toList());
        assertArrayEquals(filled(4096, 'b'), onPrimary(0, 4096));
    }
}
