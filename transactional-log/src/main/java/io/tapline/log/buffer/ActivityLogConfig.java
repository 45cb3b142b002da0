package io.tapline.log.buffer;

/**
 * Sizing of a capture buffer's {@link ActivityLog} (DRBD's {@code al-extents}).
 *
 * @param extentBytes the unit the log tracks, a power of two in 4 KiB..1 GiB (default 4 MiB, DRBD's)
 * @param hotExtents  how many extents stay hot before the least recently written one that is safe
 *                    is evicted: the most a resync compares after a crash while the host flushes
 *                    (default 1024, 4 GiB); 0 turns the log off (a crash then compares every chunk)
 */
public record ActivityLogConfig(int extentBytes, int hotExtents) {
    /** No activity log: an unclean stop makes the resync compare every chunk. */
    public static final ActivityLogConfig OFF = new ActivityLogConfig(4 << 20, 0);
    /** 1024 extents of 4 MiB. */
    public static final ActivityLogConfig DEFAULT = new ActivityLogConfig(4 << 20, 1024);

    public ActivityLogConfig {
        if (extentBytes < 4096 || extentBytes > (1 << 30) || Integer.bitCount(extentBytes) != 1) {
            throw new IllegalArgumentException("extentBytes: " + extentBytes + " (expected: a power of two in 4096..1073741824)");
        }
        if (hotExtents < 0 || hotExtents > (1 << 20)) {
            throw new IllegalArgumentException("hotExtents: " + hotExtents + " (expected: 0..1048576)");
        }
    }

    /** Whether the log is kept at all. */
    public boolean enabled() {
        return hotExtents > 0;
    }

    /** The largest volume the log can track: {@link ActivityLog#MAX_EXTENTS} extents (256 TiB at 4 MiB). */
    public long reachBytes() {
        return (long) ActivityLog.MAX_EXTENTS * extentBytes;
    }

    /** This sizing with another number of hot extents (0: off). */
    public ActivityLogConfig withHotExtents(int n) {
        return new ActivityLogConfig(extentBytes, n);
    }
}
