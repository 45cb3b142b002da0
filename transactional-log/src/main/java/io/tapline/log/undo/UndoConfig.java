package io.tapline.log.undo;

import java.time.Duration;
import java.util.Objects;

/**
 * Sizing and retention of a volume's undo log.
 *
 * @param segmentBytes a segment is sealed once it reaches this size (default 64 MiB)
 * @param maxBytes     oldest sealed segments are deleted while the log is larger (default 8 GiB)
 * @param maxAge       sealed segments whose records were applied longer ago are deleted, on the
 *                     replayer's clock (default 7 days)
 */
public record UndoConfig(long segmentBytes, long maxBytes, Duration maxAge) {
    public static final UndoConfig DEFAULT = new UndoConfig(64L << 20, 8L << 30, Duration.ofDays(7));

    public UndoConfig {
        Objects.requireNonNull(maxAge, "maxAge");
        if (segmentBytes < 4096) {
            throw new IllegalArgumentException("segmentBytes: " + segmentBytes + " (expected: >= 4096)");
        }
        if (maxBytes < segmentBytes) {
            throw new IllegalArgumentException(
                    "maxBytes: " + maxBytes + " (expected: >= segmentBytes " + segmentBytes + ")");
        }
        if (maxAge.isNegative() || maxAge.isZero()) {
            throw new IllegalArgumentException("maxAge: " + maxAge + " (expected: > 0)");
        }
    }
}
