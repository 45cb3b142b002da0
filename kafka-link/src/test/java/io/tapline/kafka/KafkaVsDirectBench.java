package io.tapline.kafka;

import io.tapline.journey.shipper.Shipper;
import io.tapline.journey.shipper.ShipperConfig;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.undo.UndoConfig;
import io.tapline.replay.ReplayConfig;
import io.tapline.replay.ReplayServer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Throughput and replication lag of the Kafka path against the direct journey link, on one
 * machine, in one JVM (bench/kafka_vs_direct.sh runs it; results in docs/benchmarks.md).
 *
 * <p>Throughput: {@code tapline.bench.mib} MiB of 64 KiB WRITE records appended to the capture
 * buffer as fast as possible; time from the first append until the replica applied the last.
 * Lag: {@code tapline.bench.rate} 4 KiB records a second for {@code tapline.bench.seconds}; for each
 * record, the time from its append to the first sample (every 2 ms) that sees it applied (durable on
 * the replica), the first second not counted.
 * Not a test: it runs only with {@code -Dtapline.bench=true}.
 */
@EnabledIfSystemProperty(named = "tapline.bench", matches = "true")
class KafkaVsDirectBench {
    private static final int SIZE = 256 << 20;
    private static final int MIB = Integer.getInteger("tapline.bench.mib", 512);
    private static final int RATE = Integer.getInteger("tapline.bench.rate", 2000);
    private static final int SECONDS = Integer.getInteger("tapline.bench.seconds", 15);

    @Test
    void kafkaAgainstDirect() throws Exception {
        Path dir = Files.createTempDirectory("tapline-bench");
        StringBuilder out = new StringBuilder();
        try {
            out.append(direct(dir.resolve("direct"), "thr", true)).append('\n');
            out.append(direct(dir.resolve("direct"), "lag", false)).append('\n');
            try (KafkaCluster kafka = KafkaCluster.start(dir.resolve("kafka"))) {
                for (String compression : new String[] {"lz4", "zstd"}) {
                    KafkaLinkConfig link = KafkaLinkConfig.of(kafka.bootstrap()).withTopicPrefix("bench.")
                            .withCompression(compression);
                    // A topic per run: a topic holds one capture buffer's history (sequences from 1).
                    out.append(kafka(link, dir.resolve("k-" + compression), "thr-" + compression, true))
                            .append('\n');
                    out.append(kafka(link, dir.resolve("k-" + compression), "lag-" + compression, false))
                            .append('\n');
                }
            }
        } finally {
            System.out.println("BENCH RESULTS\n" + out);
            deleteTree(dir);
        }
    }

    private static String direct(Path dir, String volume, boolean throughput) throws Exception {
        Files.createDirectories(dir);
        try (ReplayServer server = ReplayServer.start(ReplayConfig.of(new InetSocketAddress("127.0.0.1", 0),
                dir.resolve("replica")));
                CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("buffer").resolve(volume), volume,
                        BufferConfig.DEFAULT);
                Shipper shipper = Shipper.start(ShipperConfig.of(server.boundAddress(), "bench", volume, SIZE, 4096),
                        buffer)) {
            LongSupplier applied = () -> server.volumeStatus(volume).map(s -> s.lastAppliedSequence()).orElse(0L);
            return "direct      " + (throughput ? throughput(buffer, applied) : lag(buffer, applied));
        }
    }

    private static String kafka(KafkaLinkConfig link, Path dir, String volume, boolean throughput) throws Exception {
        Files.createDirectories(dir);
        try (CaptureBuffer buffer = CaptureBuffer.open(dir.resolve("buffer").resolve(volume), volume,
                BufferConfig.DEFAULT);
                KafkaShipper shipper = KafkaShipper.start(link, new VolumeIdentity(volume, SIZE, 4096, "bench"),
                        buffer);
                KafkaReplayer replayer = KafkaReplayer.start(link, "bench", dir.resolve("replica"), volume,
                        UndoConfig.DEFAULT)) {
            // The consumer joins its group first (a few seconds), as a running replayer would have.
            buffer.append(RecordKind.WRITE, 0, 4096, 0, Provenance.INTERNAL, new byte[4096]);
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (replayer.lastApplied(volume) < 1 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            LongSupplier applied = () -> replayer.lastApplied(volume);
            return String.format("kafka %-5s ", link.compression())
                    + (throughput ? throughput(buffer, applied) : lag(buffer, applied));
        }
    }

    private static String throughput(CaptureBuffer buffer, LongSupplier applied) throws Exception {
        byte[] data = new byte[64 << 10];
        Random random = new Random(1);
        int records = MIB * 16;
        long base = buffer.lastSequence();
        long start = System.nanoTime();
        for (int i = 0; i < records; i++) {
            fill(random, data);
            long offset = (long) random.nextInt(SIZE / data.length) * data.length;
            buffer.append(RecordKind.WRITE, offset, data.length, 0, Provenance.INTERNAL, data);
        }
        long appended = System.nanoTime();
        while (applied.getAsLong() < base + records) {
            Thread.sleep(5);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        return String.format("throughput: %d MiB of 64 KiB records in %.1f s = %.0f MiB/s (capture alone %.1f s)",
                MIB, seconds, MIB / seconds, (appended - start) / 1e9);
    }

    /** Half-compressible data, like a file system's blocks (random halves, zero halves). */
    private static void fill(Random random, byte[] data) {
        for (int i = 0; i < data.length; i += 4096) {
            byte[] block = new byte[2048];
            random.nextBytes(block);
            System.arraycopy(block, 0, data, i, block.length);
            Arrays.fill(data, i + 2048, i + 4096, (byte) 0);
        }
    }

    private static String lag(CaptureBuffer buffer, LongSupplier applied) throws Exception {
        int records = RATE * SECONDS;
        long[] appendedAt = new long[records];
        long[] lagNanos = new long[records];
        long base = buffer.lastSequence();
        byte[] data = new byte[4096];
        Random random = new Random(2);
        Thread sampler = new Thread(() -> {
            int seen = 0;
            while (seen < records) {
                long now = System.nanoTime();
                long a = applied.getAsLong() - base;
                for (; seen < Math.min(a, records); seen++) {
                    lagNanos[seen] = now - appendedAt[seen];
                }
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        long start = System.nanoTime();
        long intervalNanos = 1_000_000_000L / RATE;
        for (int i = 0; i < records; i++) {
            long due = start + i * intervalNanos;
            while (System.nanoTime() < due) {
                java.util.concurrent.locks.LockSupport.parkNanos(200_000); // no spinning: 2 cores here
            }
            fill(random, data);
            appendedAt[i] = System.nanoTime();
            buffer.append(RecordKind.WRITE, (long) random.nextInt(SIZE / 4096) * 4096, 4096, 0,
                    Provenance.INTERNAL, data);
            if (i == 0) {
                sampler.start();
            }
        }
        sampler.join(120_000);
        // The first second warms up (JIT, the replica file's first writes): not counted.
        long[] sorted = Arrays.copyOfRange(lagNanos, Math.min(RATE, records - 1), records);
        Arrays.sort(sorted);
        int n = sorted.length;
        return String.format("lag at %d x 4 KiB records/s for %d s (first second not counted): p50 %.1f ms,"
                + " p99 %.1f ms, max %.1f ms", RATE, SECONDS, sorted[n / 2] / 1e6, sorted[(int) (n * 0.99)] / 1e6,
                sorted[n - 1] / 1e6);
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
