package io.tapline.wedge.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.RecordKind;
import io.tapline.log.buffer.ActivityLogConfig;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.ChangedChunks;
import io.tapline.log.volume.VolumeFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The capture buffer's activity log driven by the real sequencer: a FLUSH's sync pair lets
 * extents cool, a host that never flushes gets durable points from the flusher itself, and a
 * failed transaction fails the volume without the write reaching the primary, so the restart's
 * tracked extents still cover every write that did. Extents are 1 MiB (the changed-chunk set's
 * chunk), two kept hot.
 */
class ActivityLogWedgeTest {
    private static final int MIB = 1 << 20;
    private static final BufferConfig CONFIG = BufferConfig.DEFAULT.withActivityLog(new ActivityLogConfig(MIB, 2));

    @TempDir
    Path dir;
    private CaptureBuffer buffer;
    private VolumeFile primary;
    private VolumeSequencer sequencer;
    private final VolumeSequencerTest.Outcomes o = new VolumeSequencerTest.Outcomes();
    private int submitted;

    @BeforeEach
    void open() throws Exception {
        buffer = CaptureBuffer.open(dir.resolve("buffer"), "vol", CONFIG);
        primary = VolumeFile.openOrCreate(dir.resolve("primary.img"), 16 * MIB);
        sequencer = VolumeSequencer.start("vol", primary, CaptureSink.of(buffer));
    }

    @AfterEach
    void close() throws Exception {
        if (sequencer != null) {
            sequencer.close();
            buffer.close();
        }
        primary.close();
    }

    @Test
    void aFlushLetsTheExtentsItCoveredCool() throws Exception {
        for (int e = 0; e < 3; e++) {
            assertEquals(WriteOutcome.OK, write(e * (long) MIB, 'a'));
        }
        assertEquals(3L * MIB, buffer.status().crashCompareBytes(), "nothing safe yet: over the two configured");
        assertEquals(WriteOutcome.OK, flush());
        assertEquals(WriteOutcome.OK, write(7L * MIB, 'b'));
        assertEquals(2L * MIB, buffer.status().crashCompareBytes(), "safe ones evicted down to two");
    }

    @Test
    void aHostThatNeverFlushesGetsDurablePointsFromTheFlusher() throws Exception {
        for (int e = 0; e < 5; e++) {
            assertEquals(WriteOutcome.OK, write(e * (long) MIB, 'a'));
        }
        assertTrue(buffer.wantsDurablePoint(), "five hot, none safe");
        long deadline = System.nanoTime() + 10L * GroupCommitFlusher.DURABLE_POINT_MILLIS * 1_000_000L;
        while (buffer.wantsDurablePoint()) {
            assertTrue(System.nanoTime() < deadline, "the flusher made no durable point of its own");
            Thread.onSpinWait(); // polled up to the deadline, as TestBuffers.eventually does
        }
        assertEquals(WriteOutcome.OK, write(9L * MIB, 'b'));
        assertEquals(2L * MIB, buffer.status().crashCompareBytes(), "the flusher's point let them cool");
    }

    @Test
    void aFailedTransactionFailsTheVolumeAndChangesNothing() throws Exception {
        assertEquals(WriteOutcome.OK, write(0, 'a'));
        FaultyFileChannel log = FaultyFileChannel.install(FaultyFileChannel.field(buffer, "activity"), "channel");
        log.failForce = true;
        assertEquals(WriteOutcome.IO_ERROR, write(5L * MIB, 'b'), "its extent could not be made hot");
        assertArrayEquals(new byte[4096], onPrimary(5L * MIB), "not applied");
        log.clear();
        assertEquals(WriteOutcome.IO_ERROR, write(6L * MIB, 'c'), "no transaction after a failed one");
        assertEquals(WriteOutcome.OK, write(4096, 'd'), "a hot extent still takes writes until a FLUSH");
        assertEquals(WriteOutcome.IO_ERROR, flush(), "the buffer failed: the volume fails");
        assertTrue(sequencer.failure().contains("activity log transaction failed"), sequencer.failure());

        sequencer.close();
        buffer.close();
        sequencer = null;
        buffer = CaptureBuffer.open(dir.resolve("buffer"), "vol", CONFIG);
        assertTrue(buffer.uncleanShutdown());
        List<long[]> tracked = ChangedChunks.readRanges(dir.resolve("buffer"), 10);
        // Extent 0 was hot; the failed transaction's page may still name 5 too (conservative).
        assertEquals(0, tracked.get(0)[0], describe(tracked));
        assertTrue(tracked.stream().allMatch(r -> r[1] == MIB && (r[0] == 0 || r[0] == 5L * MIB)), describe(tracked));
        sequencer = VolumeSequencer.start("vol", primary, CaptureSink.of(buffer));
    }

    private WriteOutcome write(long offset, int value) throws Exception {
        byte[] data = new byte[4096];
        Arrays.fill(data, (byte) value);
        sequencer.submit(o.command(RecordKind.WRITE, offset, data.length, 0, data));
        return o.await(submitted++);
    }

    private WriteOutcome flush() throws Exception {
        sequencer.submit(o.command(RecordKind.FLUSH, 0, 0, 0, null));
        return o.await(submitted++);
    }

    private byte[] onPrimary(long offset) throws Exception {
        byte[] b = new byte[4096];
        primary.read(offset, ByteBuffer.wrap(b));
        return b;
    }

    private static String describe(List<long[]> ranges) {
        List<String> out = new ArrayList<>();
        for (long[] r : ranges) {
            out.add(r[0] + "+" + r[1]);
        }
        return out.toString();
    }
}
