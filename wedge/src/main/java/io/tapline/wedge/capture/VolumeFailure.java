package io.tapline.wedge.capture;

/**
 * Whether a volume has failed for good (until the wedge restarts), and why: set once, by the
 * first failed fsync of the primary or of the capture buffer, and never cleared.
 *
 * <p>Why never cleared: after a failed fsync Linux may have dropped the dirty pages and marked
 * them clean, so a retried fsync succeeds without the data ever reaching the disk (the
 * PostgreSQL "fsyncgate" lesson). A later FLUSH must therefore not be answered with success;
 * only a restart, which sees the missing clean-shutdown marker of the capture buffer and tracks
 * every chunk for a resync, makes the volume trustworthy again.
 *
 * <p>Thread-safety: any thread; the reason is published through a volatile field.
 */
final class VolumeFailure {
    private volatile String reason = "";

    /** Records the failure; returns true for the first one only (so it is logged once). */
    synchronized boolean fail(String why) {
        if (!reason.isEmpty()) {
            return false;
        }
        reason = why;
        return true;
    }

    boolean failed() {
        return !reason.isEmpty();
    }

    /** Why the volume failed, or empty while it has not. */
    String reason() {
        return reason;
    }
}
