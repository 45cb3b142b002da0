package io.tapline.log.buffer;

import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How long the host's writes wait while an acknowledgement frees segments ({@code bench/ack_release.sh}):
 * a buffer of 64 MiB segments holds MiB (default 1024) of 1 MiB records, made durable; a writer thread then
 * appends 4 KiB records every 0.2 ms while one acknowledgement frees all of them at once (as after
 * a catch-up, when the replayer's acknowledgements fold into one). Prints the acknowledgement's
 * time and the longest append meanwhile: before segments were retired under the lock and deleted
 * after it, every append waited for the deletions (docs/benchmarks.md#retired-buffer-segments).
 * Usage: AckReleaseBench DIR [MiB=1024]
 */
public final class AckReleaseBench {
    private AckReleaseBench() {
    }

    /** Polls until the writer has made {@code count} appends, for at most 10 s. */
    private static void awaitAppends(AtomicLong appends, long count) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (appends.get() < count) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the writer made " + appends.get() + " appends in 10 s (expected: " + count + ")");
            }
            Thread.onSpinWait();
        }
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int mib = args.length > 1 ? Integer.parseInt(args[1]) : 1024;
        try (CaptureBuffer buffer = CaptureBuffer.open(dir, "bench", new BufferConfig(64L << 20, 64L << 30, 48L << 30))) {
            buffer.registerRemote("bench");
            byte[] big = new byte[1 << 20];
            new Random(1).nextBytes(big);
            for (int i = 0; i < mib; i++) {
                buffer.append(RecordKind.WRITE, (long) i << 20, 1 << 20, 0, Provenance.INTERNAL, big);
            }
            buffer.sync();
            // Not a wait for a condition: the kernel's writeback of the appends, which the sync
            // above made durable, is left a few seconds to settle so that it does not time the unlinks.
            Thread.sleep(3000);
            AtomicBoolean writing = new AtomicBoolean(true);
            AtomicLong longest = new AtomicLong();
            AtomicLong appends = new AtomicLong();
            byte[] small = new byte[4096];
            Thread writer = new Thread(() -> {
                try {
                    while (writing.get()) {
                        long t = System.nanoTime();
                        buffer.append(RecordKind.WRITE, 0, small.length, 0, Provenance.INTERNAL, small);
                        longest.accumulateAndGet(System.nanoTime() - t, Math::max);
                        appends.incrementAndGet();
                        Thread.sleep(0, 200_000); // the pace of the writer being measured: a host's 4 KiB writes
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "bench-writer");
            writer.start();
            awaitAppends(appends, 100); // the writer is running
            long t = System.nanoTime();
            buffer.acknowledge("bench", mib);
            long ack = System.nanoTime() - t;
            awaitAppends(appends, appends.get() + 100); // and kept writing after the acknowledgement
            writing.set(false);
            writer.join();
            System.out.printf("acknowledgement freeing %d MiB (%d segments): %.1f ms; longest 4 KiB append meanwhile"
                    + " %.1f ms (%d appends)%n", mib, mib / 64, ack / 1e6, longest.get() / 1e6, appends.get());
        }
    }
}
