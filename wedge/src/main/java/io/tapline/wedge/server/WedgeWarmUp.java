package io.tapline.wedge.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.tapline.journey.BatchFrameBuilder;
import io.tapline.journey.WarmUpSupport;
import io.tapline.journey.CompressionChoice;
import io.tapline.journey.JourneyProtocol;
import io.tapline.journey.LoopbackWarmUp;
import io.tapline.log.Bus;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.RecordReader;
import io.tapline.log.volume.VolumeFile;
import io.tapline.wedge.capture.CaptureSink;
import io.tapline.wedge.capture.CompletionListener;
import io.tapline.wedge.capture.VolumeSequencer;
import io.tapline.wedge.capture.WriteCommand;
import io.tapline.wedge.capture.WriteOutcome;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The wedge's capture-and-ship path run once at start on scratch files, before the host is
 * served: writes of three sizes through a {@link VolumeSequencer} into a scratch capture buffer
 * (with the volume's buffer settings) and a scratch primary, small ones inline and large ones
 * through the capture thread, a FLUSH through the group-commit flusher; then the records read
 * back as a shipper reads them and built into batch frames, which a receiver's decoder reads. A
 * wedge's first writes otherwise meet interpreted code, a young generation of a few MiB and
 * first-time class loading on every step ({@code docs/benchmarks.md#warm-up}).
 *
 * <p>The scratch lives in {@code .warm-up/} inside the volume's own buffer folder, which the
 * caller holds (its capture buffer is open), and is deleted before and after. It registers
 * nothing with metrics, the buffer's state or any remote. A failure is a warning: the wedge
 * starts cold. Once per process; {@code -Dtapline.wedge.warmUp=off} skips it.
 */
public final class WedgeWarmUp {
    static final String PROPERTY = "tapline.wedge.warmUp";
    /** The scratch folder inside the volume's buffer folder. */
    public static final String DIR = ".warm-up";
    private static final String VOLUME = "scratch";
    static final long VOLUME_BYTES = 4L << 20;
    private static final int PASSES = 3;
    /** Record sizes: small random writes (run inline), the usual 64 KiB, whole 1 MiB writes. */
    private static final int[] RECORD_BYTES = {4 << 10, 64 << 10, 1 << 20};
    /** Small writes are submitted in runs, as one socket read's commands are. */
    private static final int RUN = 16;
    private static final int MAX_BATCH_BYTES = 4 << 20;
    /** The scratch buffer's segments: 12 MiB of writes roll a few. */
    private static final long SEGMENT_BYTES = 4L << 20;
    private static final long WAIT_SECONDS = 30;
    /** Records also carried one per frame, for the per-frame code's sake. */
    private static final int SMALL_FRAMES = 64;
    private static final Provenance PROVENANCE = new Provenance(Bus.WEDGE, "warm-up", VOLUME, 1, 0, 1);
    private static final AtomicBoolean DONE = new AtomicBoolean();

    private WedgeWarmUp() {
    }

    /** What a warm-up did. */
    record Result(long records, long bytes, long shipped, int frames, int carriedFrames, long millis) {
    }

    /**
     * Warms the capture-and-ship path up in {@code volumeBufferDir}{@code /.warm-up} unless this
     * process already did or the property says {@code off}; logs what it did, or why not. Never
     * throws.
     */
    public static void onceAtStart(Path volumeBufferDir, BufferConfig config) {
        WarmUpSupport.onceInScratch(PROPERTY, DONE, volumeBufferDir.resolve(DIR), scratch -> summary(run(scratch, config)));
    }

    /** {@link #onceAtStart} in {@code scratch}, whatever ran before in this process (tests). */
    static boolean warmUpIn(Path scratch, BufferConfig config) {
        return WarmUpSupport.inScratch(PROPERTY, scratch, s -> summary(run(s, config)));
    }

    private static String summary(Result r) {
        return r.records() + " writes (" + (r.bytes() >> 20) + " MiB) captured and " + r.frames()
                + " batch frames built on scratch files, " + r.carriedFrames() + " frames carried over loopback, in "
                + r.millis() + " ms";
    }

    /** Runs the warm-up in {@code scratch}, which it creates and leaves for the caller to delete. */
    static Result run(Path scratch, BufferConfig config) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        WarmUpSupport.controlMessages();
        Path bufferDir = scratch.resolve("buffer");
        Files.createDirectories(bufferDir);
        long records = 0;
        long bytes = 0;
        Shipped shipped;
        // The volume's settings, with room for every scratch write (a small --buffer-max would fill)
        // and segments small enough that the warm-up rolls a few, as the volume's first roll would.
        long segmentBytes = Math.min(config.segmentBytes(), SEGMENT_BYTES);
        long room = Math.max(config.maxBytes(), 2 * PASSES * VOLUME_BYTES + segmentBytes);
        BufferConfig scratchConfig = new BufferConfig(segmentBytes, room, room, config.directAppendMinBytes(),
                config.writeOnce(), config.activityLog());
        try (CaptureBuffer buffer = CaptureBuffer.open(bufferDir, VOLUME, scratchConfig);
                VolumeFile primary = VolumeFile.openOrCreate(scratch.resolve("primary.img"), VOLUME_BYTES)) {
            VolumeSequencer sequencer = VolumeSequencer.start(VOLUME, primary, CaptureSink.of(buffer));
            try {
                SplittableRandom random = new SplittableRandom(1);
                for (int pass = 0; pass < PASSES; pass++) {
                    int recordBytes = RECORD_BYTES[pass % RECORD_BYTES.length];
                    Completions done = new Completions();
                    List<WriteCommand> run = new ArrayList<>();
                    for (long off = 0; off < VOLUME_BYTES; off += recordBytes) {
                        byte[] payload = new byte[recordBytes];
                        random.nextBytes(payload);
                        run.add(new WriteCommand(RecordKind.WRITE, off, recordBytes, 0, PROVENANCE, payload, done));
                        if (run.size() == RUN) {
                            done.expect(run.size());
                            sequencer.submitAll(run);
                            run = new ArrayList<>();
                        }
                        records++;
                        bytes += recordBytes;
                    }
                    run.add(new WriteCommand(RecordKind.FLUSH, 0, 0, 0, PROVENANCE, null, done));
                    done.expect(run.size());
                    sequencer.submitAll(run);
                    done.await();
                }
            } finally {
                sequencer.close();
            }
            shipped = shipBack(buffer);
        }
        return new Result(records, bytes, shipped.records(), shipped.frames(), shipped.carried(),
                (System.nanoTime() - t0) / 1_000_000);
    }

    /** Frames built from the buffer and the records the receiver's decoder found in them. */
    private record Shipped(int frames, long records, int carried) {
    }

    /**
     * The buffer's records read as a shipper reads them, built into frames (the usual large ones,
     * and the first {@link #SMALL_FRAMES} records one per frame), carried to a receiver over a
     * loopback connection and decoded there.
     */
    private static Shipped shipBack(CaptureBuffer buffer) throws IOException, InterruptedException {
        BatchFrameBuilder frame = new BatchFrameBuilder();
        BatchFrameBuilder single = new BatchFrameBuilder();
        List<ByteBuf> frames = new ArrayList<>();
        List<ByteBuf> small = new ArrayList<>();
        long batchId = 1;
        try (RecordReader reader = buffer.openReader(buffer.firstSequence())) {
            while (reader.position() <= buffer.lastSequence()) {
                long sequence = reader.position();
                ByteBuffer record = reader.nextEncoded(1000);
                if (record == null) {
                    throw new IOException("warm-up: record " + sequence + " not read back");
                }
                if (small.size() < SMALL_FRAMES) {
                    single.start(ByteBufAllocator.DEFAULT, record.remaining());
                    single.add(record.duplicate(), sequence);
                    small.add(single.seal(batchId++, CompressionChoice.LZ4).frame());
                }
                if (frame.records() > 0 && (long) frame.recordBytes() + record.remaining() > MAX_BATCH_BYTES) {
                    frames.add(frame.seal(batchId++, CompressionChoice.LZ4).frame());
                }
                if (frame.records() == 0) {
                    frame.start(ByteBufAllocator.DEFAULT, MAX_BATCH_BYTES);
                }
                frame.add(record, sequence);
            }
            if (frame.records() > 0) {
                frames.add(frame.seal(batchId, CompressionChoice.LZ4).frame());
            }
        } catch (IOException | RuntimeException | InterruptedException e) {
            frames.addAll(small);
            frames.forEach(ByteBuf::release);
            throw e;
        } finally {
            frame.close();
            single.close();
        }
        int built = frames.size();
        long firstLarge = small.size() + 1L;
        Map<Long, Integer> recordsPerLargeBatch = new ConcurrentHashMap<>(); // carried more than once
        LoopbackWarmUp.Result carried = LoopbackWarmUp.carry(frames, small, JourneyProtocol.DEFAULT_MAX_FRAME_BYTES, b -> {
            if (b.batchId() >= firstLarge) {
                recordsPerLargeBatch.put(b.batchId(), b.recordCount());
            }
        });
        long records = recordsPerLargeBatch.values().stream().mapToLong(Integer::longValue).sum();
        return new Shipped(built, records, carried.frames());
    }

    /** Counts the warm-up's completions; the first failure fails the warm-up. */
    private static final class Completions implements CompletionListener {
        private final java.util.concurrent.Semaphore completed = new java.util.concurrent.Semaphore(0);
        private final AtomicReference<WriteOutcome> failed = new AtomicReference<>();
        private int expected;

        void expect(int commands) {
            expected += commands;
        }

        void await() throws IOException, InterruptedException {
            if (!completed.tryAcquire(expected, WAIT_SECONDS, TimeUnit.SECONDS)) {
                throw new IOException("warm-up: writes not completed within " + WAIT_SECONDS + " s");
            }
            if (failed.get() != null) {
                throw new IOException("warm-up: a write completed with " + failed.get());
            }
        }

        @Override
        public void onComplete(WriteCommand command, WriteOutcome outcome, long sequence) {
            if (outcome != WriteOutcome.OK) {
                failed.compareAndSet(null, outcome);
            }
            completed.release();
        }

        @Override
        public void onBatchEnd() {
        }
    }
}
