package io.tapline.tools;

import io.tapline.log.buffer.BufferStatus;
import io.tapline.log.buffer.CaptureBuffer;
import java.util.concurrent.TimeUnit;

/**
 * A capture buffer's status for the metrics, read on a thread of its own so that a scrape never
 * hangs: {@link CaptureBuffer#status} waits for the buffer's writer, and a writer stuck in an
 * fsync of a disk that stopped answering would otherwise hang every scrape (and the JDK HTTP
 * server's one dispatcher with it). A scrape takes a fresh reading when one comes within
 * {@link #WAIT_MILLIS}, else the last one, and {@link #ageSeconds} says how old that is.
 *
 * <p>Thread-safe.
 */
final class BufferStatusSampler {
    /** How long a scrape waits for a fresh reading, in all (later gauges of the same scrape do not wait again). */
    static final long WAIT_MILLIS = 2_000;
    /** A reading this recent is used as it is: the gauges of one scrape share it. */
    private static final long FRESH_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    private record Reading(BufferStatus status, long atNanos) {
    }

    private final CaptureBuffer buffer;
    private final BoundedReader<Reading> reader;
    private volatile Reading last;

    BufferStatusSampler(CaptureBuffer buffer, String volume) {
        this.buffer = buffer;
        this.reader = new BoundedReader<>("buffer-status-" + volume, this::read);
    }

    /** The freshest status this scrape may have; null before any reading came back. */
    BufferStatus status() {
        Reading r = last;
        if (r != null && System.nanoTime() - r.atNanos() < FRESH_NANOS) {
            return r.status();
        }
        Reading got = reader.getOrNull(WAIT_MILLIS); // null: the buffer did not answer (or failed)
        Reading use = got != null ? got : r; // then the last reading, whose age says so
        return use == null ? null : use.status();
    }

    /** Seconds since the last reading the buffer answered; NaN before the first. */
    double ageSeconds() {
        status(); // a scrape of the age alone still asks for a fresh reading
        Reading r = last;
        return r == null ? Double.NaN : (System.nanoTime() - r.atNanos()) / 1e9;
    }

    private Reading read() {
        Reading r = new Reading(buffer.status(), System.nanoTime());
        last = r;
        return r;
    }
}
