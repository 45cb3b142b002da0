package io.tapline.log.undo;

import io.tapline.log.DirectAppender;

import java.time.Duration;
import java.util.Objects;

/**
 * Sizing and retention of a volume's undo log.
 *
 * @param segmentBytes a segment is sealed once it reaches this size (default 64 MiB)
 * @param maxBytes     oldest sealed segments are deleted while the log is larger (default 8 GiB)
 * @param maxAge       sealed segments whose newest record is older are deleted (default 7 days)
 * @param directAppendMinBytes gathered appends of at least this many bytes reach the file with
 *                     O_DIRECT (default {@link DirectAppender#MIN_RECORD_BYTES}, 64 KiB);
 *                     {@code Long.MAX_VALUE} writes everything through the page cache
 */
public record UndoConfig(long segmentBytes, long maxBytes, Duration maxAge, long directAppendMinBytes) {
    public static final UndoConfig DEFAULT = new UndoConfig(64L << 20, 8L << 30, Duration.ofDays(7));

    /** A config whose direct appends follow the default threshold. */
    public UndoConfig(long segmentBytes, long maxBytes, Duration maxAge) {
        this(segmentBytes, maxBytes, maxAge, DirectAppender.MIN_RECORD_BYTES);
    }

    /** This config with another direct-append threshold. */
    public UndoConfig withDirectAppendMinBytes(long bytes) {
        return new UndoConfig(segmentBytes, maxBytes, maxAge, bytes);
    }

    public UndoConfig {
        Objects.requireNonNull(maxAge, "maxAge");
        if (segmentBytes < 4096) {
            throw new IllegalArgumentException("segmentBytes: " + segmentBytes + " (expected: >= 4096)");
        }
        if (maxBytes < segmentBytes) {
            throw new IllegalArgumentException(
                    "maxBytes: " + maxBytes + " (expected: >= segmentBytes " + segmentBytes + ")");
        }
        if (directAppendMinBytes < 0) {
            throw new IllegalArgumentException("directAppendMinBytes: " + directAppendMinBytes + " (expected: >= 0)");
        }
        if (maxAge.isNegative() || maxAge.isZero()) {
            throw new IllegalArgumentException("maxAge: " + maxAge + " (expected: > 0)");
        }
    }
}
