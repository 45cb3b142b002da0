package io.tapline.journey.shipper;

/**
 * How a {@link Shipper} currently fits its link to the line, for metrics: what it measured and
 * what it chose from that.
 *
 * @param windowBatches      batches it may have in flight now ({@link WindowSizer})
 * @param lineBytesPerSecond compressed bytes the replayer acknowledged per second, last measured;
 *                           -1 before the first measurement
 * @param compression        the codec for compressible batches now: {@code lz4}, {@code zstd-1},
 *                           {@code zstd-3} ({@link CompressionPolicy})
 */
public record LinkShape(int windowBatches, long lineBytesPerSecond, String compression) {
}
