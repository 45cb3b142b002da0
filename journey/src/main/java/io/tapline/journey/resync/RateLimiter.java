package io.tapline.journey.resync;

/**
 * A simple pacing limiter: after {@code n} bytes, waits until the average since start is at or
 * below the rate. 0 means unlimited. Not thread-safe.
 */
final class RateLimiter {
    private final long bytesPerSecond;
    private final long startNanos = System.nanoTime();
    private long bytes;

    RateLimiter(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
    }

    void acquire(long n) throws InterruptedException {
        if (bytesPerSecond <= 0) {
            return;
        }
        bytes += n;
        long dueNanos = startNanos + (long) (bytes * 1e9 / bytesPerSecond);
        long waitNanos = dueNanos - System.nanoTime();
        if (waitNanos > 0) { // pacing is the point: the resync thread waits, the host never does
            Thread.sleep(waitNanos / 1_000_000, (int) (waitNanos % 1_000_000));
        }
    }
}
