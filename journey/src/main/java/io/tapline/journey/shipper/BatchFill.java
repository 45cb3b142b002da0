package io.tapline.journey.shipper;

import java.util.concurrent.TimeUnit;

/**
 * How long a batch the shipper fills waits for more records before it is sent: at most
 * {@link #maxFillNanos} after its first record (as Kafka's {@code linger.ms}).
 *
 * <p>Before, a batch closed at the configured byte bound or when no record came within 1 ms. A
 * steady stream of small writes never leaves a 1 ms gap (a 50 MB/s host writing 4 KiB pages
 * appends one every 80 µs), so each batch grew to 4 MiB: 80 ms of writes waited for the batch to
 * fill before any of them left, and the replica lagged by that much (docs/benchmarks.md#batch-fill).
 * Now the shipper takes the records already in the buffer, sleeps once for the rest of the bound
 * when none is there, takes what came meanwhile and sends. A backlog still leaves in full batches
 * (a link catching up, or a line that limits the rate: records are there, nothing waits), and the
 * writers are not woken per record: the sleeping shipper is not a waiter the buffer must signal.
 *
 * <p>Not thread-safe: one per shipper thread.
 */
final class BatchFill {
    /** Bound on the wait for more records once a batch has one: {@code -Dtapline.ship.batchFillMicros} (default 2,000). */
    static final long DEFAULT_MAX_FILL_MICROS = 2_000;
    /** Largest bound accepted: one second (a batch that waits longer would hold its records past any RPO). */
    static final long MAX_FILL_MICROS = 1_000_000;
    static final String PROPERTY = "tapline.ship.batchFillMicros";

    private final long maxFillNanos;
    private long startedNanos;

    BatchFill(long maxFillNanos) {
        if (maxFillNanos < 0) {
            throw new IllegalArgumentException("maxFillNanos: " + maxFillNanos + " (expected: >= 0)");
        }
        this.maxFillNanos = maxFillNanos;
    }

    /**
     * The bound from {@code -Dtapline.ship.batchFillMicros}, else {@link #DEFAULT_MAX_FILL_MICROS}.
     *
     * @throws IllegalArgumentException (one line) for a value that is not a whole number of microseconds >= 0
     */
    static BatchFill fromProperties() {
        return new BatchFill(TimeUnit.MICROSECONDS.toNanos(
                io.tapline.log.BoundedProperty.read(PROPERTY, DEFAULT_MAX_FILL_MICROS, MAX_FILL_MICROS, "microseconds")));
    }

    long maxFillNanos() {
        return maxFillNanos;
    }

    /** The batch got its first record at {@code nowNanos}. */
    void started(long nowNanos) {
        startedNanos = nowNanos;
    }

    /**
     * Nanoseconds a batch that got its first record at {@link #started} still waits for more at
     * {@code nowNanos}: the rest of the fill bound, 0 once it is over.
     */
    long lingerNanos(long nowNanos) {
        return Math.max(0, startedNanos + maxFillNanos - nowNanos);
    }
}
