package io.tapline.wedge.capture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link VolumeSequencer#submitAll}: small runs submitted while the sequencer is idle are
 * captured and applied on the caller's thread, and however runs and single commands from several
 * threads interleave (inline, queued, split at a segment roll), the primary ends up exactly as
 * the capture buffer's records replayed in sequence order.
 */
class VolumeSequencerInlineTest {
    private static final int SIZE = 1 << 20;
    private static final Provenance PROV = new Provenance(Bus.WEDGE, "test", "vol", 1, 0, 1);

    @TempDir
    Path dir;

    /** Records, per command, the outcome, the sequence and the thread that completed it. */
    static final class Completions implements CompletionListener {
        // By identity: commands are records, and two FLUSH commands are equal.
        final Map<WriteCommand, CompletableFuture<WriteOutcome>> outcomes = identityMap();
        final Map<WriteCommand, Long> sequences = identityMap();
        final Map<WriteCommand, String> threads = identityMap();

        private static <V> Map<WriteCommand, V> identityMap() {
            return Collections.synchronizedMap(new IdentityHashMap<>());
        }

        WriteCommand write(long offset, byte[] data, int flags) {
            return add(new WriteCommand(RecordKind.WRITE, offset, data.length, flags, PROV, data, this));
        }

        WriteCommand add(WriteCommand c) {
            outcomes.put(c, new CompletableFuture<>());
            return c;
        }

        @Override
        public void onComplete(WriteCommand command, WriteOutcome outcome, long sequence) {
            sequences.put(command, sequence);
            threads.put(command, Thread.currentThread().getName());
            outcomes.get(command).complete(outcome);
        }

        @Override
        public void onBatchEnd() {
        }

        void awaitAllOk() throws Exception {
            List<CompletableFuture<WriteOutcome>> all;
            synchronized (outcomes) {
                all = new ArrayList<>(outcomes.values());
            }
            for (CompletableFuture<WriteOutcome> f : all) {
                assertEquals(WriteOutcome.OK, f.get(20, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void idleSequencerRunsASmallRunOnTheCallersThread() throws Exception {
        Completions c = new Completions();
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("buf"), "vol", BufferConfig.DEFAULT);
                VolumeFile primary = VolumeFile.openOrCreate(dir.resolve("p.img"), SIZE)) {
            VolumeSequencer s = VolumeSequencer.start("vol", primary, CaptureSink.of(buffer));
            List<WriteCommand> run = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                run.add(c.write(i * 2048L, filled(4096, i + 1), 0)); // each overlaps the one before
            }
            WriteCommand fua = c.write(100_000, filled(512, 9), CaptureRecord.FLAG_FUA);
            run.add(fua);
            s.submitAll(run);
            for (int i = 0; i < 8; i++) {
                assertTrue(c.outcomes.get(run.get(i)).isDone(), "completed before submitAll returned: " + i);
                assertEquals(Thread.currentThread().getName(), c.threads.get(run.get(i)));
                assertEquals(i + 1, c.sequences.get(run.get(i)));
            }
            c.awaitAllOk();
            assertTrue(c.threads.get(fua).startsWith("wedge-flush"), "a FUA write waits for the flusher: "
                    + c.threads.get(fua));
            s.close();
            assertArrayEquals(replay(buffer), image(primary));
        }
    }

    @Test
    void largeRunsAndRunsBehindQueuedCommandsAreQueued() throws Exception {
        Completions c = new Completions();
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("buf"), "vol", BufferConfig.DEFAULT);
                VolumeFile primary = VolumeFile.openOrCreate(dir.resolve("p.img"), SIZE)) {
            VolumeSequencer s = VolumeSequencer.start("vol", primary, CaptureSink.of(buffer));
            int big = (int) VolumeSequencer.INLINE_MAX_BYTES + 1;
            WriteCommand large = c.write(0, filled(big, 1), 0);
            s.submitAll(List.of(large));
            c.awaitAllOk();
            assertTrue(c.threads.get(large).startsWith("wedge-apply"), c.threads.get(large));
            s.close();
            assertArrayEquals(replay(buffer), image(primary));
        }
    }

    @Test
    void interleavedRunsAndSingleCommandsFromSeveralThreadsKeepOneOrder() throws Exception {
        Completions c = new Completions();
        // 64 KiB segments: runs are split at rolls (a prefix inline, the rest queued).
        BufferConfig small = new BufferConfig(64 << 10, 1L << 30, 1L << 29);
        ExecutorService submitters = Executors.newFixedThreadPool(3);
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("buf"), "vol", small);
                VolumeFile file = VolumeFile.openOrCreate(dir.resolve("p.img"), SIZE)) {
            ApplyOrder primary = new ApplyOrder(file);
            VolumeSequencer s = VolumeSequencer.start("vol", primary, new SlowBatches(CaptureSink.of(buffer)));
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                Random rnd = new Random(t);
                done.add(submitters.submit(() -> { // a host that waits for its runs, as at a small queue depth
                    for (int round = 0; round < 300; round++) {
                        List<WriteCommand> run = new ArrayList<>();
                        int n = 1 + rnd.nextInt(round % 7 == 0 ? 40 : 12);
                        for (int i = 0; i < n; i++) {
                            run.add(randomCommand(c, rnd));
                        }
                        s.submitAll(run);
                        for (WriteCommand w : run) {
                            c.outcomes.get(w).get(20, TimeUnit.SECONDS);
                        }
                    }
                    return null;
                }));
            }
            Random rnd = new Random(2);
            done.add(submitters.submit(() -> { // single commands arriving at any moment, also mid-run
                for (int i = 1; i <= 1500; i++) {
                    s.submit(randomCommand(c, rnd));
                    java.util.concurrent.locks.LockSupport.parkNanos(100_000);
                    if (i % 50 == 0) { // a later write would hide a misordered pair: compare along the way
                        boolean same = s.atQuiescentPoint(() -> Arrays.equals(replay(buffer), image(file)));
                        assertTrue(same, "primary == records replayed, at seq " + buffer.lastSequence());
                    }
                }
                return null;
            }));
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            c.awaitAllOk();
            s.close();
            List<String> threads;
            synchronized (c.threads) {
                threads = new ArrayList<>(c.threads.values());
            }
            long inline = threads.stream().filter(n -> n.startsWith("pool")).count();
            long queued = threads.stream().filter(n -> n.startsWith("wedge-apply")).count();
            assertTrue(inline > 100 && queued > 100, "both paths taken: inline=" + inline + " queued=" + queued);
            assertEquals(c.outcomes.size(), buffer.lastSequence(), "one record per command");
            assertArrayEquals(replay(buffer), image(file), "primary == records replayed in sequence order");
            assertSameOrder(changes(buffer), primary.applied());
        } finally {
            submitters.shutdownNow();
        }
    }

    /** A primary that remembers the order of its changes (offset and length of each). */
    private static final class ApplyOrder implements io.tapline.log.volume.BlockVolume {
        private final VolumeFile file;
        private final List<String> applied = Collections.synchronizedList(new ArrayList<>());

        ApplyOrder(VolumeFile file) {
            this.file = file;
        }

        List<String> applied() {
            return List.copyOf(applied);
        }

        @Override
        public long sizeBytes() {
            return file.sizeBytes();
        }

        @Override
        public void read(long offsetBytes, ByteBuffer dst) throws java.io.IOException {
            file.read(offsetBytes, dst);
        }

        @Override
        public void write(long offsetBytes, ByteBuffer src) throws java.io.IOException {
            applied.add(offsetBytes + "+" + src.remaining());
            file.write(offsetBytes, src);
        }

        @Override
        public void zero(long offsetBytes, long lengthBytes, boolean mayDeallocate) throws java.io.IOException {
            applied.add(offsetBytes + "+" + lengthBytes);
            file.zero(offsetBytes, lengthBytes, mayDeallocate);
        }

        @Override
        public void force() throws java.io.IOException {
            file.force();
        }

        @Override
        public void close() {
        }
    }

    private static void assertSameOrder(List<String> records, List<String> applied) {
        for (int i = 0; i < Math.min(records.size(), applied.size()); i++) {
            assertEquals(records.get(i), applied.get(i), "change " + i + " reached the primary out of sequence order");
        }
        assertEquals(records.size(), applied.size(), "changes on the primary");
    }

    /** The buffer's data-changing records in sequence order, as {@link ApplyOrder} names changes. */
    private static List<String> changes(CaptureBuffer buffer) throws java.io.IOException {
        List<String> changes = new ArrayList<>();
        try (RecordReader reader = buffer.openReader(1)) {
            CaptureRecord r;
            while ((r = next(reader)) != null) {
                if (r.kind().changesData()) {
                    changes.add(r.offsetBytes() + "+" + r.lengthBytes());
                }
            }
        }
        return changes;
    }

    /**
     * Pauses after each batch append, so that other threads submit while an inline run is between
     * its capture and its apply: the window in which the capture thread must wait for it.
     */
    private record SlowBatches(CaptureSink sink) implements CaptureSink {
        @Override
        public List<CaptureRecord> appendAll(List<WriteCommand> commands) throws java.io.IOException {
            List<CaptureRecord> stored = sink.appendAll(commands);
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
            return stored;
        }

        @Override
        public CaptureRecord append(RecordKind kind, long offsetBytes, long lengthBytes, int flags,
                Provenance provenance, byte[] payload) throws java.io.IOException {
            return sink.append(kind, offsetBytes, lengthBytes, flags, provenance, payload);
        }

        @Override
        public void sync() throws java.io.IOException {
            sink.sync();
        }

        @Override
        public void fail(String reason) {
            sink.fail(reason);
        }
    }

    private static WriteCommand randomCommand(Completions c, Random rnd) {
        int len = 512 * (1 + rnd.nextInt(16));
        int off = 512 * rnd.nextInt(64); // a 40 KiB hot zone: most commands overlap others
        int kind = rnd.nextInt(20);
        if (kind == 0) {
            return c.add(new WriteCommand(RecordKind.WRITE_ZEROES, off, len, 0, PROV, null, c));
        }
        if (kind == 1) {
            return c.add(new WriteCommand(RecordKind.FLUSH, 0, 0, 0, PROV, null, c));
        }
        byte[] data = new byte[len];
        rnd.nextBytes(data);
        return c.write(off, data, kind == 2 ? CaptureRecord.FLAG_FUA : 0);
    }

    private static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static byte[] image(VolumeFile primary) throws java.io.IOException {
        byte[] onDisk = new byte[SIZE];
        primary.read(0, ByteBuffer.wrap(onDisk));
        return onDisk;
    }

    private static CaptureRecord next(RecordReader reader) throws java.io.IOException {
        try {
            return reader.next(0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        }
    }

    /** The buffer's records, in sequence order, replayed onto a zeroed image. */
    private static byte[] replay(CaptureBuffer buffer) throws java.io.IOException {
        byte[] image = new byte[SIZE];
        long expected = 1;
        try (RecordReader reader = buffer.openReader(1)) {
            CaptureRecord r;
            while ((r = next(reader)) != null) {
                assertEquals(expected++, r.sequence(), "dense sequences");
                switch (r.kind()) {
                    case WRITE -> System.arraycopy(r.payload(), 0, image, (int) r.offsetBytes(), r.payload().length);
                    case WRITE_ZEROES, DISCARD -> Arrays.fill(image, (int) r.offsetBytes(),
                            (int) (r.offsetBytes() + r.lengthBytes()), (byte) 0);
                    default -> {
                    }
                }
            }
        }
        return image;
    }
}
