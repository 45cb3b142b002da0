package io.tapline.journey.shipper;

/**
 * Sizes a link's window (batches sent and not yet acknowledged) from the line's measured
 * bandwidth-delay product instead of a constant: twice the bytes the line carries in one
 * acknowledgement round trip, plus one batch. While the window is what limits the link, the rate
 * it measures grows with it and so does the next size; once the line is the limit, the round trip
 * grows with the queue instead and the size settles at about twice the line's product.
 *
 * <p>Inputs, all measured by the current session: the compressed bytes the line carried per second,
 * the shortest acknowledgement round trip (send to durable on the replica and back: the line's
 * delay plus one apply), and the mean compressed size of a batch. Bounds: never below the
 * configured floor ({@link ShipperConfig#maxInFlightBatches()}), never more than
 * {@link #MAX_IN_FLIGHT_WIRE_BYTES} on the wire nor {@link #MAX_BATCHES} batches.
 */
final class WindowSizer {
    /** Compressed bytes in flight at most (what the sender's socket and queues may hold). */
    static final long MAX_IN_FLIGHT_WIRE_BYTES = 64L << 20;
    /** Batches in flight at most. */
    static final int MAX_BATCHES = 256;

    private final int floor;

    WindowSizer(int floor) {
        if (floor < 1) {
            throw new IllegalArgumentException("floor: " + floor + " (expected: >= 1)");
        }
        this.floor = floor;
    }

    /**
     * The window, in batches, for a line that carried {@code wireBytesPerSecond} (negative: not
     * measured yet) with a shortest round trip of {@code minRttNanos} (negative: none yet), sending
     * batches of {@code meanWireBatchBytes} on average.
     */
    int batches(long wireBytesPerSecond, long minRttNanos, long meanWireBatchBytes) {
        if (wireBytesPerSecond <= 0 || minRttNanos <= 0 || meanWireBatchBytes <= 0) {
            return floor;
        }
        double product = wireBytesPerSecond * (minRttNanos / 1e9);
        long wanted = (long) Math.ceil(2 * product / meanWireBatchBytes) + 1;
        long cap = Math.min(MAX_BATCHES, Math.max(floor, MAX_IN_FLIGHT_WIRE_BYTES / meanWireBatchBytes));
        return (int) Math.max(floor, Math.min(cap, wanted));
    }
}
