package io.tapline.journey.shipper;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/** Reconnect delays: doubling from min to max, each drawn in [d/2, d]. Used by one thread. */
final class Backoff {
    private final long minMillis;
    private final long maxMillis;
    private long currentMillis;

    Backoff(Duration min, Duration max) {
        this.minMillis = Math.max(1, min.toMillis());
        this.maxMillis = Math.max(minMillis, max.toMillis());
        this.currentMillis = minMillis;
    }

    /** The next delay, then doubles the base up to max. */
    long nextMillis() {
        long base = currentMillis;
        currentMillis = Math.min(maxMillis, currentMillis * 2);
        long half = base / 2;
        return half + ThreadLocalRandom.current().nextLong(base - half + 1);
    }

    /** Back to the minimum after a session came up. */
    void reset() {
        currentMillis = minMillis;
    }
}
