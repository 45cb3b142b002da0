package io.tapline.replay;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.WarmUpSupport;
import io.tapline.journey.CompressionChoice;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocol;
import io.tapline.journey.LoopbackWarmUp;
import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.undo.UndoConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The replayer's receive-and-apply path run once at start, before it listens, on a scratch volume
 * of its own: frames decoded, batches unpacked, groups staged and completed as a session pipelines
 * them (before-images, undo log, replica writes and syncs, audit, {@code applied.state}), then the
 * scratch deleted. A replayer's first records otherwise meet interpreted code, a young generation
 * of a few MiB and first-time class loading on every step, and wait 0.2-0.5 s behind them
 * ({@code docs/benchmarks.md#warm-up}).
 *
 * <p>The scratch volume lives in {@code <data>/.warm-up/} (the data directory's file system, where
 * the real volumes' costs are), holds no volume metadata at that level so that no listing takes it
 * for a volume, and is deleted before and after (a warm-up cut by a kill leaves it for the next
 * start to delete). It registers nothing with metrics or observers. A failure is a warning: the
 * replayer starts cold. Once per process (later servers in the same JVM, as in tests, skip it);
 * {@code -Dtapline.replay.warmUp=off} skips it.
 */
final class ApplyWarmUp {
    static final String PROPERTY = "tapline.replay.warmUp";
    /** The scratch directory under the data directory. */
    static final String DIR = ".warm-up";
    private static final String VOLUME = "scratch";
    static final long VOLUME_BYTES = 8L << 20;
    private static final int BATCH_BYTES = 1 << 20;
    /** Passes over the scratch volume: the first writes holes, the later ones overwrite data. */
    private static final int PASSES = 3;
    /** Record sizes cycled batch by batch: small random writes, the usual 64 KiB, whole 1 MiB writes. */
    private static final int[] RECORD_BYTES = {4 << 10, 64 << 10, 1 << 20};
    private static final Provenance PROVENANCE = new Provenance(Bus.WEDGE, "warm-up", VOLUME, 1, 0, 1);
    private static final AtomicBoolean DONE = new AtomicBoolean();

    private ApplyWarmUp() {
    }

    /** Small batches carried over loopback: enough per-frame work for the optimizing compiler. */
    private static final int SMALL_BATCHES = 64;
    private static final int SMALL_RECORD_BYTES = 4 << 10;

    /** What a warm-up did: groups applied, their bytes, frames carried over loopback. */
    record Result(int groups, long bytes, int carriedFrames, long millis) {
    }

    /**
     * Warms the apply path up in {@code dataDir} unless this process already did or the property
     * says {@code off}; logs what it did, or why not. Never throws.
     */
    static void onceAtStart(Path dataDir, UndoConfig undo, int maxFrameBytes) {
        WarmUpSupport.onceInScratch(PROPERTY, DONE, dataDir.resolve(DIR), scratch -> summary(run(scratch, undo, maxFrameBytes)));
    }

    /** {@link #onceAtStart} in {@code scratch}, whatever ran before in this process (tests). */
    static boolean warmUpIn(Path scratch, UndoConfig undo, int maxFrameBytes) {
        return WarmUpSupport.inScratch(PROPERTY, scratch, s -> summary(run(s, undo, maxFrameBytes)));
    }

    private static String summary(Result r) {
        return r.groups() + " groups (" + (r.bytes() >> 20) + " MiB) received and applied on a scratch volume, "
                + r.carriedFrames() + " batch frames carried over loopback, in " + r.millis() + " ms";
    }

    /** Runs the warm-up in {@code scratch}, which it creates and leaves for the caller to delete. */
    static Result run(Path scratch, UndoConfig undo, int maxFrameBytes)
            throws IOException, RefusedException, InterruptedException {
        long t0 = System.nanoTime();
        WarmUpSupport.controlMessages();
        JourneyMessage.Hello hello = new JourneyMessage.Hello(JourneyProtocol.VERSION, "warm-up", VOLUME, VOLUME_BYTES,
                4096, "");
        SplittableRandom random = new SplittableRandom(1);
        int groups = 0;
        long bytes = 0;
        long seq = 1;
        List<JourneyMessage.Batch> carriedBatches = new ArrayList<>();
        try (ReplicaVolume v = ReplicaVolume.open(scratch, hello, undo)) {
            for (int pass = 0; pass < PASSES; pass++) {
                List<JourneyMessage.Batch> batches = new ArrayList<>();
                for (long off = 0; off < VOLUME_BYTES; off += BATCH_BYTES) {
                    int recordBytes = RECORD_BYTES[batches.size() % RECORD_BYTES.length];
                    List<CaptureRecord> records = records(seq, off, recordBytes, random, pass == 1);
                    seq += records.size();
                    // As a shipper chooses per batch: text compresses (LZ4, zstd), random data goes as it is.
                    CompressionChoice codec = pass == 1 && batches.size() % 2 == 1 ? CompressionChoice.zstd(3)
                            : CompressionChoice.LZ4;
                    batches.add(BatchCodec.pack(seq, records, codec));
                    bytes += BATCH_BYTES;
                }
                // As a session: frames decoded and unpacked on receipt, each group staged while the
                // previous one's replica sync runs, then completed.
                ReplicaVolume.StagedGroup pending = null;
                for (JourneyMessage m : WarmUpSupport.throughFrames(batches, maxFrameBytes)) {
                    ReplicaVolume.StagedGroup staged = v.stageReceived(
                            List.of(ReceivedBatch.unpack((JourneyMessage.Batch) m)));
                    if (pending != null) {
                        v.complete(pending);
                    }
                    pending = staged;
                    groups++;
                }
                if (pending != null) {
                    v.complete(pending);
                }
                for (int i = pass; i < batches.size(); i += PASSES) {
                    carriedBatches.add(batches.get(i)); // a third: each record size, each codec, fewer bytes
                }
            }
            if (v.lastApplied() != seq - 1) {
                throw new IOException("warm-up applied up to seq " + v.lastApplied() + " (expected: " + (seq - 1) + ")");
            }
        }
        // A third of the batches, and many small ones, through real sockets as a session receives them.
        List<JourneyMessage.Batch> small = new ArrayList<>();
        for (int i = 0; i < SMALL_BATCHES; i++) {
            byte[] payload = new byte[SMALL_RECORD_BYTES];
            random.nextBytes(payload);
            small.add(BatchCodec.pack(seq, List.of(write(seq, System.currentTimeMillis() * 1_000_000L,
                    (long) i * SMALL_RECORD_BYTES, payload)), CompressionChoice.LZ4));
            seq++;
        }
        LoopbackWarmUp.Result carried = LoopbackWarmUp.carry(WarmUpSupport.encode(carriedBatches, maxFrameBytes),
                WarmUpSupport.encode(small, maxFrameBytes), maxFrameBytes, ReceivedBatch::unpack);
        return new Result(groups, bytes, carried.frames(), (System.nanoTime() - t0) / 1_000_000);
    }

    /** WRITE records of {@code recordBytes} covering one batch from {@code offset}, then a FLUSH. */
    private static List<CaptureRecord> records(long firstSeq, long offset, int recordBytes, SplittableRandom random,
            boolean text) {
        List<CaptureRecord> records = new ArrayList<>();
        long seq = firstSeq;
        long now = System.currentTimeMillis() * 1_000_000L;
        for (int b = 0; b < BATCH_BYTES; b += recordBytes) {
            byte[] payload = new byte[recordBytes];
            if (text) {
                byte[] line = ("warm-up line " + seq + " of a text that compresses\n").getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; i < payload.length; i++) {
                    payload[i] = line[i % line.length];
                }
            } else {
                random.nextBytes(payload);
            }
            records.add(write(seq++, now, offset + b, payload));
        }
        records.add(CaptureRecord.seal(VOLUME, seq, now, RecordKind.FLUSH, 0, 0, 0, PROVENANCE, null));
        return records;
    }

    /** A WRITE record of the scratch volume carrying {@code payload} at {@code offset}. */
    private static CaptureRecord write(long seq, long nowNanos, long offset, byte[] payload) {
        return CaptureRecord.seal(VOLUME, seq, nowNanos, RecordKind.WRITE, offset, payload.length, 0, PROVENANCE, payload);
    }
}
