package io.tapline.journey.shipper;

import io.tapline.journey.CompressionChoice;

/**
 * Chooses each batch's compression from what limited the link lately. When the shipper spent most
 * of the last interval waiting for the window (and, once Zstandard is chosen, as long as it still
 * waits more than a twentieth of it: compressing harder itself shortens the waits), the line (or
 * the replayer) is the limit and its rate is known: the compressed bytes the
 * replayer acknowledged per second, measured over at least {@link #INTERVAL_NANOS}. On a slow line
 * CPU is cheaper than bytes on it, so Zstandard (smaller, slower) is chosen; on a fast one LZ4
 * (cheap) keeps the source from becoming the limit. Otherwise the host is the limit:
 * LZ4, which adds the least latency to each batch (the replication lag stays low).
 *
 * <p>Thresholds, from this machine (docs/benchmarks.md#link-compression): Zstandard level 3
 * compresses text 5.7x at ~430 MB/s per core in 4 MiB blocks, level 1 4.6x at ~540 MB/s, LZ4 2.3x
 * at over 1 GB/s. Below {@link #STRONG_BELOW_BYTES_PER_SECOND} on the wire, level 3 needs at most
 * about half a core for a line full of text; below {@link #ZSTD_BELOW_BYTES_PER_SECOND}, level 1
 * does; above, LZ4. LZ4 until the first measurement. Used by the shipper's thread only.
 */
final class CompressionPolicy {
    /** Wire rate below which Zstandard level 3 is used. */
    static final long STRONG_BELOW_BYTES_PER_SECOND = 32L << 20;
    /** Wire rate below which Zstandard level 1 is used. */
    static final long ZSTD_BELOW_BYTES_PER_SECOND = 96L << 20;
    /** The shortest span a rate is measured over. */
    static final long INTERVAL_NANOS = 1_000_000_000L;
    private static final CompressionChoice STRONG = CompressionChoice.zstd(3);
    private static final CompressionChoice FAST_ZSTD = CompressionChoice.zstd(1);

    private CompressionChoice current = CompressionChoice.LZ4;
    /** Time the shipper waited for the window since the last measurement. */
    private long waitedNanos;
    private long markBytes = -1;
    private long markNanos;
    private long lastRate = -1;

    /** Notes that the next batch waited {@code nanos} for a slot of the window. */
    void waitedForWindow(long nanos) {
        waitedNanos += nanos;
    }

    /**
     * The compression for the next batch, given the acknowledged wire bytes of the current
     * session so far ({@code ackedWireBytes}, which starts again at 0 with each session).
     */
    CompressionChoice choose(long ackedWireBytes, long nowNanos) {
        if (markBytes < 0 || ackedWireBytes < markBytes) {
            markBytes = ackedWireBytes; // a new session: start measuring again, keep the last choice
            markNanos = nowNanos;
            return current;
        }
        long elapsed = nowNanos - markNanos;
        if (elapsed >= INTERVAL_NANOS) {
            lastRate = (long) ((ackedWireBytes - markBytes) * 1e9 / elapsed);
            markBytes = ackedWireBytes;
            markNanos = nowNanos;
            boolean linkBound = current.codec() == io.tapline.journey.Compression.ZSTD
                    ? waitedNanos * 20 > elapsed : waitedNanos * 2 > elapsed;
            current = !linkBound ? CompressionChoice.LZ4
                    : lastRate < STRONG_BELOW_BYTES_PER_SECOND ? STRONG
                    : lastRate < ZSTD_BELOW_BYTES_PER_SECOND ? FAST_ZSTD : CompressionChoice.LZ4;
            waitedNanos = 0;
        }
        return current;
    }

    /** The wire rate last measured, bytes per second; -1 before the first measurement. */
    long lastRate() {
        return lastRate;
    }
}
