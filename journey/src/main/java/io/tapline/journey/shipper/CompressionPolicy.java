package io.tapline.journey.shipper;

import io.tapline.journey.CompressionChoice;

/**
 * Chooses each batch's compression from the rate the line carried lately: where the line is
 * slow, CPU is cheaper than bytes on the wire, so Zstandard (smaller, slower) is chosen; where it
 * is fast, LZ4 (cheap) keeps the source from becoming the limit. The rate is the compressed bytes
 * the replayer acknowledged per second, measured over at least {@link #INTERVAL_NANOS}; that is the
 * line's capacity when batches queue for it, and the host's write rate when they do not (then the
 * rate is low, and so is the cost of compressing harder).
 *
 * <p>Thresholds, from this machine (docs/benchmarks.md#link-compression): Zstandard level 3
 * compresses text 4.0x at ~150-300 MB/s per core, level 1 3.5x at ~380 MB/s, LZ4 2.3x at over
 * 1 GB/s. Below {@link #STRONG_BELOW_BYTES_PER_SECOND} on the wire, level 3 needs at most about
 * half a core for a line full of text; below {@link #ZSTD_BELOW_BYTES_PER_SECOND}, level 1 does;
 * above, LZ4. Before the first measurement, level 1. Used by the shipper's thread only.
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

    /** Until the line is measured: Zstandard's fast level, a middle way that costs little anywhere. */
    private CompressionChoice current = FAST_ZSTD;
    private long markBytes = -1;
    private long markNanos;
    private long lastRate = -1;

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
            current = lastRate < STRONG_BELOW_BYTES_PER_SECOND ? STRONG
                    : lastRate < ZSTD_BELOW_BYTES_PER_SECOND ? FAST_ZSTD : CompressionChoice.LZ4;
        }
        return current;
    }

    /** The wire rate last measured, bytes per second; -1 before the first measurement. */
    long lastRate() {
        return lastRate;
    }
}
