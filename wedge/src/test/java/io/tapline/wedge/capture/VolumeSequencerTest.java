package io.tapline.wedge.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.volume.VolumeFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VolumeSequencerTest {
    private static final int SIZE = 1 << 20;
    private static final Provenance PROV = new Provenance(Bus.WEDGE, "test", "vol", 1, 0, 1);

    @TempDir
    Path dir;

    /** Completes one future per command. */
    static final class Outcomes implements CompletionListener {
        final List<CompletableFuture<WriteOutcome>> futures = new ArrayList<>();
        final java.util.Map<WriteCommand, CompletableFuture<WriteOutcome>> byCommand =
                new java.util.concurrent.ConcurrentHashMap<>();
        /** The sequence each completion carried, by command. */
        final java.util.Map<WriteCommand, Long> sequences = new java.util.concurrent.ConcurrentHashMap<>();

        WriteCommand command(RecordKind kind, long offset, long length, int flags, byte[] payload) {
            WriteCommand c = new WriteCommand(kind, offset, length, flags, PROV, payload, this);
            CompletableFuture<WriteOutcome> f = new CompletableFuture<>();
            futures.add(f);
            byCommand.put(c, f);
            return c;
        }

        @Override
        public void onComplete(WriteCommand command, WriteOutcome outcome, long sequence) {
            sequences.put(command, sequence);
            byCommand.get(command).complete(outcome);
        }

        @Override
        public void onBatchEnd() {
            // Futures complete individually.
        }

        WriteOutcome await(int i) throws Exception {
            return futures.get(i).get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void overlappingWritesLandInSequenceOrderOnPrimaryAndCapture() throws Exception {
        FakeCaptureSink sink = new FakeCaptureSink();
        Random rnd = new Random(1);
        Outcomes o = new Outcomes();
        try (VolumeFile primary = VolumeFile.openOrCreate(dir.resolve("p.img"), SIZE)) {
            VolumeSequencer s = VolumeSequencer.start("vol", primary, sink);
            for (int i = 0; i < 2000; i++) {
                int len = 1 + rnd.nextInt(8192);
                int off = rnd.nextInt(SIZE - len);
                byte[] data = new byte[len];
                rnd.nextBytes(data);
                RecordKind kind = i % 10 == 3 ? RecordKind.WRITE_ZEROES : i % 10 == 7 ? RecordKind.DISCARD
                        : RecordKind.WRITE;
                s.submit(o.command(kind, off, len, 0, kind == RecordKind.WRITE ? data : null));
            }
            for (int i = 0; i < o.futures.size(); i++) {
                assertEquals(WriteOutcome.OK, o.await(i));
            }
            s.close();
            byte[] onDisk = new byte[SIZE];
            primary.read(0, ByteBuffer.wrap(onDisk));
            assertArrayEquals(sink.rebuildImage(SIZE), onDisk);
        }
    }

    @Test
    void fuaAndFlushCompleteOnlyAfterSync() throws Exception {
        FakeCaptureSink sink = new FakeCaptureSink();
        Outcomes o = new Outcomes();
        try (VolumeFile primary = VolumeFile.openOrCreate(dir.resolve("p.img"), SIZE)) {
            VolumeSequencer s = VolumeSequencer.start("vol", primary, sink);
            s.submit(o.command(RecordKind.WRITE, 0, 4, CaptureRecord.FLAG_FUA, new byte[] {1, 2, 3, 4}));
            assertEquals(WriteOutcome.OK, o.await(0));
            assertTrue(sink.syncedUpTo() >= 1, "record 1 synced before the FUA write completed");
            s.submit(o.command(RecordKind.WRITE, 8, 4, 0, new byte[] {5, 6, 7, 8}));
            s.submit(o.command(RecordKind.FLUSH, 0, 0, 0, null));
            assertEquals(WriteOutcome.OK, o.await(2));
            assertTrue(sink.syncedUpTo() >= 3, "flush covers the write before it");
            s.close();
            assertEquals(RecordKind.FLUSH, sink.records().get(2).kind());
            assertTrue(sink.records().get(0).fua());
        }
    }

    @Test
    void everyCompletionCarriesTheSequenceItsRecordGotAndZeroWhenNothingWasStored() throws Exception {
        FakeCaptureSink sink = new FakeCaptureSink();
        Outcomes o = new Outcomes();
        try (VolumeFile primary = VolumeFile.openOrCreate(dir.resolve("p.img"), SIZE)) {
            VolumeSequencer s = VolumeSequencer.start("vol", primary, sink);
            WriteCommand write = o.command(RecordKind.WRITE, 0, 4, 0, new byte[] {1, 2, 3, 4});
            WriteCommand mark = o.command(RecordKind.MARK, 0, 0, 0, new byte[] {'m'});
            WriteCommand fua = o.command(RecordKind.WRITE, 8, 4, CaptureRecord.FLAG_FUA, new byte[] {5, 6, 7, 8});
            s.submit(write);
            s.submit(mark);
            s.submit(fua);
            for (int i = 0; i < 3; i++) {
                assertEquals(WriteOutcome.OK, o.await(i));
            }
            assertEquals(1L, o.sequences.get(write));
            assertEquals(2L, o.sequences.get(mark), "a MARK's completion (after the group commit) carries its sequence");
            assertTrue(sink.syncedUpTo() >= 2, "the MARK is durable when it completes");
            assertEquals(3L, o.sequences.get(fua));
            sink.setFull(true);
            WriteCommand notStored = o.command(RecordKind.MARK, 0, 0, 0, new byte[] {'n'});
            s.submit(notStored);
            assertEquals(WriteOutcome.OK, o.await(3));
            assertEquals(0L, o.sequences.get(notStored), "nothing stored: no sequence");
            s.close();
        }
    }

    @Test
    void fullSinkNeverFailsTheHostWrite() throws Exception {
        FakeCaptureSink sink = new FakeCaptureSink();
        sink.setFull(true);
        Outcomes o = new Outcomes();
        try (VolumeFile primary = VolumeFile.openOrCreate(dir.resolve("p.img"), SIZE)) {
            VolumeSequencer s = VolumeSequencer.start("vol", primary, sink);
            s.submit(o.command(RecordKind.WRITE, 10, 3, 0, new byte[] {9, 9, 9}));
            assertEquals(WriteOutcome.OK, o.await(0));
            s.close();
            byte[] b = new byte[3];
            primary.read(10, ByteBuffer.wrap(b));
            assertArrayEquals(new byte[] {9, 9, 9}, b);
            assertEquals(0, sink.records().size());
        }
    }

    @Test
    void failingAppendGivesIoErrorAndLeavesPrimaryUntouched() throws Exception {
        FakeCaptureSink sink = new FakeCaptureSink();
        Outcomes o = new Outcomes();
        try (VolumeFile primary = VolumeFile.openOrCreate(dir.resolve("p.img"), SIZE)) {
            VolumeSequencer s = VolumeSequencer.start("vol", primary, sink);
            sink.setFailing(true);
            s.submit(o.command(RecordKind.WRITE, 0, 2, 0, new byte[] {1, 1}));
            s.submit(o.command(RecordKind.WRITE, 2, 2, 0, new byte[] {2, 2}));
            assertEquals(WriteOutcome.IO_ERROR, o.await(0));
            assertEquals(WriteOutcome.IO_ERROR, o.await(1));
            sink.setFailing(false);
            s.submit(o.command(RecordKind.WRITE, 4, 2, 0, new byte[] {3, 3}));
            assertEquals(WriteOutcome.OK, o.await(2));
            s.close();
            byte[] b = new byte[6];
            primary.read(0, ByteBuffer.wrap(b));
            assertArrayEquals(new byte[] {0, 0, 0, 0, 3, 3}, b);
            assertEquals(1, sink.records().size());
        }
    }

    @Test
    void failedCaptureSyncFailsTheVolumeUntilRestart() throws Exception {
        FakeCaptureSink sink = new FakeCaptureSink();
        Outcomes o = new Outcomes();
        try (VolumeFile primary = VolumeFile.openOrCreate(dir.resolve("p.img"), SIZE)) {
            VolumeSequencer s = VolumeSequencer.start("vol", primary, sink);
            s.submit(o.command(RecordKind.WRITE, 0, 2, 0, new byte[] {1, 1}));
            assertEquals(WriteOutcome.OK, o.await(0));
            sink.failNextSyncs(1);
            s.submit(o.command(RecordKind.FLUSH, 0, 0, 0, null));
            assertEquals(WriteOutcome.IO_ERROR, o.await(1));
            // The retried fsync would succeed (the kernel dropped the dirty pages): it must not be trusted.
            s.submit(o.command(RecordKind.FLUSH, 0, 0, 0, null));
            assertEquals(WriteOutcome.IO_ERROR, o.await(2), "a FLUSH after a failed sync");
            s.submit(o.command(RecordKind.WRITE, 8, 2, CaptureRecord.FLAG_FUA, new byte[] {2, 2}));
            assertEquals(WriteOutcome.IO_ERROR, o.await(3), "a FUA write after a failed sync");
            s.submit(o.command(RecordKind.WRITE, 16, 2, 0, new byte[] {3, 3}));
            assertEquals(WriteOutcome.IO_ERROR, o.await(4), "a plain write after a failed sync");
            assertTrue(s.failure().contains("capture buffer sync failed"), s.failure());
            assertTrue(sink.failure().contains("capture buffer sync failed"), "the sink was told: " + sink.failure());
            s.close();
            byte[] b = new byte[18];
            primary.read(0, ByteBuffer.wrap(b));
            assertArrayEquals(new byte[] {1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, b,
                    "nothing after the failure reached the primary");
            assertEquals(2, sink.records().size(), "nothing after the failure was captured: " + sink.records());
        }
    }

    @Test
    void failedPrimaryForceFailsTheVolumeUntilRestart() throws Exception {
        FakeCaptureSink sink = new FakeCaptureSink();
        Outcomes o = new Outcomes();
        try (VolumeFile real = VolumeFile.openOrCreate(dir.resolve("p.img"), SIZE)) {
            VolumeFile primary = org.mockito.Mockito.spy(real);
            org.mockito.Mockito.doThrow(new java.io.IOException("injected fsync failure (EIO)")).doCallRealMethod()
                    .when(primary).force();
            VolumeSequencer s = VolumeSequencer.start("vol", primary, sink);
            s.submit(o.command(RecordKind.WRITE, 0, 2, CaptureRecord.FLAG_FUA, new byte[] {1, 1}));
            assertEquals(WriteOutcome.IO_ERROR, o.await(0));
            s.submit(o.command(RecordKind.FLUSH, 0, 0, 0, null));
            assertEquals(WriteOutcome.IO_ERROR, o.await(1), "a FLUSH after a failed primary fsync");
            assertTrue(s.failure().contains("primary fsync failed"), s.failure());
            assertTrue(sink.failure().contains("primary fsync failed"), "the sink was told: " + sink.failure());
            s.close();
        }
    }

    @Test
    void commandsAfterCloseAreShutDown() throws Exception {
        FakeCaptureSink sink = new FakeCaptureSink();
        Outcomes o = new Outcomes();
        try (VolumeFile primary = VolumeFile.openOrCreate(dir.resolve("p.img"), SIZE)) {
            VolumeSequencer s = VolumeSequencer.start("vol", primary, sink);
            s.close();
            s.submit(o.command(RecordKind.WRITE, 0, 1, 0, new byte[] {1}));
            assertEquals(WriteOutcome.SHUT_DOWN, o.await(0));
            assertTrue(Arrays.equals(new byte[0], new byte[0]));
        }
    }
}
