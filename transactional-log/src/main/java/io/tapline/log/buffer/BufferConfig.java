package io.tapline.log.buffer;

/**
 * Sizing of a capture buffer.
 *
 * @param segmentBytes   a segment is rolled once it reaches this size (default 64 MiB)
 * @param maxBytes       the buffer is FULL above this many retained bytes (default 4 GiB)
 * @param highWaterBytes status shows HIGH_WATER above this (default 80 % of max)
 * @param directAppendMinBytes records of at least this many encoded bytes are appended with
 *                       O_DIRECT, bypassing the page cache (default from the system property
 *                       {@code tapline.buffer.directAppendMinBytes}, else 64 KiB; see
 *                       {@code io.tapline.log.DirectAppender}); {@code Long.MAX_VALUE} appends everything buffered
 * @param writeOnce      the write-once mode (DRBD's trade): records are kept in the page cache and
 *                       never forced while the buffer runs (neither by a FLUSH nor by a roll; a clean
 *                       close still forces them), so the segments of records every remote
 *                       acknowledged in time are deleted before the kernel writes them back and each
 *                       captured byte reaches the disk once, in the primary. A crash or power cut may
 *                       lose unshipped records; the buffer then starts past a durable sequence floor
 *                       and a resync compares the activity log's hot extents with each replica that
 *                       had applied what the log covers, every chunk otherwise (see {@code SequenceReservation} and
 *                       docs/ordering-contract.md). Direct appends are off in this mode.
 * @param activityLog    the {@link ActivityLog} of hot extents kept by a wedge, so that a crash makes
 *                       the resync compare only those ({@link ActivityLogConfig#OFF}: every chunk);
 *                       only a writer that reports the primary's durable points
 *                       ({@link CaptureBuffer#confirmDurable}) lets extents cool down
 */
public record BufferConfig(long segmentBytes, long maxBytes, long highWaterBytes, long directAppendMinBytes,
        boolean writeOnce, ActivityLogConfig activityLog) {
    private static final String DIRECT_PROPERTY = "tapline.buffer.directAppendMinBytes";
    /** Records of at least this many encoded bytes are appended with O_DIRECT, unless a config says otherwise. */
    static final long DIRECT_APPEND_MIN_BYTES = minRecordBytes(System.getProperty(DIRECT_PROPERTY, "65536"));
    public static final BufferConfig DEFAULT = new BufferConfig(64L << 20, 4L << 30, (4L << 30) / 10 * 8);

    /** A config whose direct appends follow the default threshold. */
    public BufferConfig(long segmentBytes, long maxBytes, long highWaterBytes) {
        this(segmentBytes, maxBytes, highWaterBytes, DIRECT_APPEND_MIN_BYTES);
    }

    /** A durable (not write-once) config. */
    public BufferConfig(long segmentBytes, long maxBytes, long highWaterBytes, long directAppendMinBytes) {
        this(segmentBytes, maxBytes, highWaterBytes, directAppendMinBytes, false);
    }

    /** A config without an activity log. */
    public BufferConfig(long segmentBytes, long maxBytes, long highWaterBytes, long directAppendMinBytes,
            boolean writeOnce) {
        this(segmentBytes, maxBytes, highWaterBytes, directAppendMinBytes, writeOnce, ActivityLogConfig.OFF);
    }

    public BufferConfig {
        java.util.Objects.requireNonNull(activityLog, "activityLog");
        if (directAppendMinBytes < 0) {
            throw new IllegalArgumentException(
                    "directAppendMinBytes: " + directAppendMinBytes + " (expected: >= 0)");
        }
        if (segmentBytes < 4096) {
            throw new IllegalArgumentException("segmentBytes: " + segmentBytes + " (expected: >= 4096)");
        }
        if (maxBytes < segmentBytes) {
            throw new IllegalArgumentException(
                    "maxBytes: " + maxBytes + " (expected: >= segmentBytes " + segmentBytes + ")");
        }
        if (highWaterBytes <= 0 || highWaterBytes > maxBytes) {
            throw new IllegalArgumentException(
                    "highWaterBytes: " + highWaterBytes + " (expected: 1.." + maxBytes + ")");
        }
    }

    /** A config with the given maximum and high water at 80 % of it. */
    public static BufferConfig ofMaxBytes(long segmentBytes, long maxBytes) {
        return new BufferConfig(segmentBytes, maxBytes, Math.max(1, maxBytes / 10 * 8));
    }

    /** This config with another direct-append threshold. */
    public BufferConfig withDirectAppendMinBytes(long bytes) {
        return new BufferConfig(segmentBytes, maxBytes, highWaterBytes, bytes, writeOnce, activityLog);
    }

    /** This config in the write-once mode, or not. */
    public BufferConfig withWriteOnce(boolean on) {
        return new BufferConfig(segmentBytes, maxBytes, highWaterBytes, directAppendMinBytes, on, activityLog);
    }

    /** This config with another activity log ({@link ActivityLogConfig#OFF}: none). */
    public BufferConfig withActivityLog(ActivityLogConfig log) {
        return new BufferConfig(segmentBytes, maxBytes, highWaterBytes, directAppendMinBytes, writeOnce, log);
    }

    /** The threshold for direct appends in effect: none in the write-once mode (they would reach the disk). */
    long effectiveDirectAppendMinBytes() {
        return writeOnce ? Long.MAX_VALUE : directAppendMinBytes;
    }

    static long minRecordBytes(String value) {
        if (value.equals("off")) {
            return Long.MAX_VALUE;
        }
        try {
            long bytes = Long.parseLong(value);
            if (bytes >= 0) {
                return bytes;
            }
        } catch (NumberFormatException e) {
            // Reported below.
        }
        throw new IllegalArgumentException(DIRECT_PROPERTY + ": " + value + " (expected: a byte count >= 0 or 'off')");
    }
}
