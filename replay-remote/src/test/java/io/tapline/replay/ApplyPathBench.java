package io.tapline.replay;

import io.tapline.journey.BatchCodec;
import io.tapline.journey.JourneyMessage;
import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.undo.UndoConfig;
import io.tapline.log.undo.UndoLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The replayer's apply path alone, no JVM start-up, no network, no shipper: {@link ReplicaVolume#apply}
 * on batches packed in advance (packing is not timed), against a raw pwrite + fdatasync of the
 * same bytes to a file in the same directory. Then a rollback of the overwrite, timed on its
 * own. Not a test: run by {@code bench/apply_path.sh}; results go to {@code docs/benchmarks.md}.
 *
 * <p>Usage: {@code ApplyPathBench DIR [MiB=1024] [recordKiB=4] [batchMiB=4, or 256k] [pipelined|sequential]}
 * <p>{@code -Dbench.offsets=random}: each pass writes the volume's record-sized slots in a random
 * order (a database's pages) instead of in order, and the raw rate is measured the same way (one
 * pwrite per record, fdatasync per batch); default {@code sequential}.
 */
public final class ApplyPathBench {
    private static final Provenance PROV = new Provenance(Bus.WEDGE, "10.0.0.1:4000", "vol1", 1, 0, 1);

    private ApplyPathBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long mib = args.length > 1 ? Long.parseLong(args[1]) : 1024;
        int recordBytes = (args.length > 2 ? Integer.parseInt(args[2]) : 4) << 10;
        int batchBytes = args.length > 3 ? batchBytes(args[3]) : 4 << 20;
        boolean pipelined = args.length <= 4 || !args[4].equals("sequential");
        long size = mib << 20;
        Files.createDirectories(dir);
        randomOffsets = "random".equals(System.getProperty("bench.offsets", "sequential"));
        double raw = randomOffsets ? rawRandom(dir.resolve("raw.img"), size, recordBytes, batchBytes)
                : raw(dir.resolve("raw.img"), size, batchBytes);
        System.out.printf("raw pwrite+fdatasync per %s, %s, overwriting a written file: %d MiB in %.2f s = %.0f MiB/s%n",
                batchBytes % (1 << 20) == 0 ? (batchBytes >> 20) + " MiB" : (batchBytes >> 10) + " KiB", randomOffsets ? "one pwrite per record at random offsets" : "one pwrite",
                mib, raw, mib / raw);
        JourneyMessage.Hello hello = new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "bench", "vol1", size, 4096, "");
        // -Dbench.undoMaxMiB: the undo log's size bound; below the bytes applied, retention deletes a
        // segment every 64 MiB applied (a replayer in its steady state), default 64 GiB (never).
        UndoConfig undo = new UndoConfig(64L << 20, Long.getLong("bench.undoMaxMiB", 64L << 10) << 20,
                UndoConfig.DEFAULT.maxAge());
        try (ReplicaVolume v = ReplicaVolume.open(dir.resolve("remote"), hello, undo)) {
            BatchApply.PHASES.takeSummary();
            timedCpuNanos = 0;
            double fill = pass(v, size, recordBytes, batchBytes, 1, 1, pipelined);
            System.out.printf("apply, first fill (zero before-images): %.2f s = %.0f MiB/s%n", fill, mib / fill);
            System.out.println("  fill phases (s): " + BatchApply.PHASES.takeSummary());
            System.out.printf("  fill CPU, all threads, while the clock ran: %.2f s%n", timedCpuNanos / 1e9);
            long mark = v.lastApplied();
            boolean coldApply = "cold".equals(System.getProperty("bench.applyCache"));
            if (coldApply) {
                // As a replica larger than memory finds its before-images: on the disk, not cached.
                new ProcessBuilder("sh", "-c", "sync && echo 3 > /proc/sys/vm/drop_caches").inheritIO().start().waitFor();
            }
            timedCpuNanos = 0;
            double over = pass(v, size, recordBytes, batchBytes, mark + 1, 2, pipelined);
            double cpu = timedCpuNanos / 1e9;
            System.out.printf("apply, overwrite (real before-images, %s, %s cache): %.2f s = %.0f MiB/s = %.2fx raw%n",
                    pipelined ? "pipelined" : "sequential", coldApply ? "dropped" : "warm", over, mib / over, raw / over);
            System.out.println("  overwrite phases (s): " + BatchApply.PHASES.takeSummary());
            System.out.printf("  overwrite CPU, all threads, while the clock ran: %.2f s (of 2 cores)%n", cpu);
            if (undo.maxBytes() < size) {
                System.out.println("rollback skipped: the undo log's bound (bench.undoMaxMiB) is below the overwrite");
                return;
            }
            boolean cold = "cold".equals(System.getProperty("bench.rollbackCache"));
            if (cold) {
                // As a rollback hours after the writes finds it: nothing of the undo log or replica cached.
                new ProcessBuilder("sh", "-c", "sync && echo 3 > /proc/sys/vm/drop_caches").inheritIO().start().waitFor();
            }
            long t0 = System.nanoTime();
            v.rollback(mark, "bench", (d, t) -> { });
            double rb = (System.nanoTime() - t0) / 1e9;
            System.out.printf("rollback of %d MiB (no JVM start, %s cache): %.2f s = %.2fx raw write time%n", mib,
                    cold ? "dropped" : "warm", rb, rb / raw);
        }
    }

    /** Batches packed ahead of the clock, per timed run of the pipeline (64 MiB with 4 MiB batches). */
    private static final int BATCHES_PER_RUN = 16;

    /**
     * Applies {@code size} bytes of random WRITE records from {@code firstSeq}; returns the apply
     * seconds. Batches are packed {@link #BATCHES_PER_RUN} at a time with the clock stopped
     * (packing between two calls would run while a pipelined group's replica fdatasync does and
     * flatter it; packing all of them first would leave 1 GiB on the heap for the collector).
     * Pipelined: the loop of {@code ReplaySession.applyQueued} with one batch per group (stage
     * N+1, then complete N), drained at the end of each run of batches, each batch unpacked on a
     * receiving thread as a session's event loop does; otherwise
     * {@link ReplicaVolume#apply} one batch at a time (the apply path before pipelining).
     */
    private static double pass(ReplicaVolume v, long size, int recordBytes, int batchBytes, long firstSeq, int seed,
            boolean pipelined) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] slots = slotOrder(size, recordBytes, seed);
        long seq = firstSeq;
        long nanos = 0;
        for (long off = 0; off < size; ) {
            List<JourneyMessage.Batch> batches = new ArrayList<>();
            while (batches.size() < BATCHES_PER_RUN && off < size) {
                List<CaptureRecord> records = new ArrayList<>();
                for (int b = 0; b < batchBytes && off < size; b += recordBytes, off += recordBytes) {
                    byte[] payload = new byte[recordBytes];
                    rnd.nextBytes(payload);
                    long at = slots == null ? off : (long) slots[(int) (off / recordBytes)] * recordBytes;
                    records.add(CaptureRecord.seal("vol1", seq++, now(), RecordKind.WRITE, at, recordBytes,
                            0, PROV, payload));
                }
                records.add(CaptureRecord.seal("vol1", seq++, now(), RecordKind.FLUSH, 0, 0, 0, PROV, null));
                batches.add(BatchCodec.pack(seq, records));
            }
            long t0 = System.nanoTime();
            long cpu0 = processCpuNanos();
            if (pipelined) {
                // As a session does: each batch unpacked on the receiving thread (the event loop),
                // while the apply thread stages the ones unpacked before it.
                List<java.util.concurrent.Future<ReceivedBatch>> received = new ArrayList<>();
                for (JourneyMessage.Batch batch : batches) {
                    received.add(RECEIVER.submit(() -> ReceivedBatch.unpack(batch)));
                }
                ReplicaVolume.StagedGroup pending = null;
                for (java.util.concurrent.Future<ReceivedBatch> batch : received) {
                    ReplicaVolume.StagedGroup staged = v.stageReceived(List.of(get(batch)));
                    if (pending != null) {
                        v.complete(pending);
                    }
                    pending = staged;
                }
                v.complete(pending);
            } else {
                for (JourneyMessage.Batch batch : batches) {
                    v.apply(batch);
                }
            }
            nanos += System.nanoTime() - t0;
            timedCpuNanos += processCpuNanos() - cpu0;
        }
        return nanos / 1e9;
    }

    /** Stands in for a session's event loop, which unpacks each batch as it arrives. */
    private static final java.util.concurrent.ExecutorService RECEIVER = java.util.concurrent.Executors
            .newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "receiver");
                t.setDaemon(true);
                return t;
            });

    private static ReceivedBatch get(java.util.concurrent.Future<ReceivedBatch> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
            throw new IOException(e);
        }
    }

    /** A batch's size: MiB, or KiB with a {@code k} after the number ({@code 256k}: a shipper's 2 ms fill of small writes). */
    private static int batchBytes(String arg) {
        return arg.endsWith("k") ? Integer.parseInt(arg.substring(0, arg.length() - 1)) << 10 : Integer.parseInt(arg) << 20;
    }

    /** {@code -Dbench.offsets=random}: records at the volume's slots in a random order. */
    private static boolean randomOffsets;

    /** The order in which a pass writes the volume's record-sized slots; null for in order. */
    private static int[] slotOrder(long size, int recordBytes, int seed) {
        if (!randomOffsets) {
            return null;
        }
        int[] slots = new int[Math.toIntExact(size / recordBytes)];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = i;
        }
        SplittableRandom rnd = new SplittableRandom(seed * 31L);
        for (int i = slots.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = slots[i];
            slots[i] = slots[j];
            slots[j] = t;
        }
        return slots;
    }

    /**
     * The raw rate for random offsets: one pwrite per record at the slots in a random order, an
     * fdatasync per {@code batchBytes}, overwriting a file written once in order untimed.
     */
    private static double rawRandom(Path file, long size, int recordBytes, int batchBytes) throws IOException {
        ByteBuffer big = writtenOnce(file, size, batchBytes);
        int[] slots = slotOrder(size, recordBytes, 7);
        ByteBuffer rec = big.duplicate().limit(recordBytes);
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            long written = 0;
            for (int slot : slots) {
                ByteBuffer d = rec.duplicate();
                while (d.hasRemaining()) {
                    ch.write(d, (long) slot * recordBytes + d.position());
                }
                written += recordBytes;
                if (written % batchBytes == 0) {
                    ch.force(false);
                }
            }
            ch.force(false);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        Files.delete(file);
        return s;
    }

    /** CPU time of the process while {@link #pass} timed, summed (batch packing excluded). */
    private static long timedCpuNanos;

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static long now() {
        return System.currentTimeMillis() * 1_000_000L;
    }

    /**
     * The disk's raw rate: pwrite + fdatasync per batch, overwriting a file written once untimed, as
     * the apply's overwrite pass overwrites the replica. Into a new file instead, the same write
     * took 0.9 to 15 s per GiB on this machine's thin-provisioned disk (ext4 mounted with discard:
     * the first write of freed blocks), slowest right after a run deleted its files: not a rate.
     */
    /** Writes {@code buf} over [0, {@code size}), one pwrite per buffer, each fdatasync'd when {@code syncEach}. */
    private static void writeAll(FileChannel ch, ByteBuffer buf, long size, boolean syncEach) throws IOException {
        for (long off = 0; off < size; off += buf.remaining()) {
            ByteBuffer d = buf.duplicate();
            while (d.hasRemaining()) {
                ch.write(d, off + d.position());
            }
            if (syncEach) {
                ch.force(false);
            }
        }
    }

    /**
     * Writes {@code file} once in order, untimed, from a buffer of random bytes, which it returns
     * for the timed pass. In pieces of {@link VolumeFile#DEFAULT_WRITE_PIECE_BYTES}, as a replica is
     * written: cached in larger folios, the raw random overwrite would run several times slower than
     * the disk allows (docs/benchmarks.md#large-folios) and flatter the apply.
     */
    private static ByteBuffer writtenOnce(Path file, long size, int batchBytes) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(batchBytes);
        byte[] b = new byte[batchBytes];
        new SplittableRandom(9).nextBytes(b);
        buf.put(b).flip();
        int piece = Math.min(batchBytes, io.tapline.log.volume.VolumeFile.DEFAULT_WRITE_PIECE_BYTES);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeAll(ch, buf.duplicate().limit(piece), size, false);
            ch.force(false);
        }
        return buf;
    }

    private static double raw(Path file, long size, int batchBytes) throws IOException {
        ByteBuffer buf = writtenOnce(file, size, batchBytes);
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            writeAll(ch, buf, size, true);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        Files.delete(file);
        return s;
    }
}
