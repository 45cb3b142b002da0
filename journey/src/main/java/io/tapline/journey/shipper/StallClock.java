package io.tapline.journey.shipper;

/**
 * How long the records a shipper sent have waited for an acknowledgment, counting only time with a
 * session up, across sessions: a path that carries small packets but not large ones (an MTU
 * mismatch) lets each new session's handshake and the replayer's heartbeats through, so sessions
 * come up, die by the TCP timeout and come up again while not one batch arrives (probe AA D1). An
 * outage (shown as disconnected) is not counted, so it does not read as a stall when the link
 * returns. The clock starts again whenever records begin waiting anew: the first sent after all
 * were acknowledged, or an ACK that moves on.
 *
 * <p>Threads: written by the shipper's thread and its session's event loop, read from any.
 */
final class StallClock {
    private volatile long waitingSinceNanos;
    /** Time waited in earlier sessions since the clock started. */
    private volatile long carriedNanos;
    private volatile long sessionUpNanos;
    private volatile long reconnectsAtStart;

    /** Records begin waiting anew at {@code nowNanos}; {@code reconnects} is the shipper's count then. */
    void restart(long nowNanos, long reconnects) {
        waitingSinceNanos = nowNanos;
        carriedNanos = 0;
        reconnectsAtStart = reconnects;
    }

    /** A session came up at {@code nowNanos}. */
    void sessionUp(long nowNanos) {
        sessionUpNanos = nowNanos;
    }

    /** The session ended at {@code nowNanos}; with records {@code waiting}, its time counts on into the next. */
    void sessionDown(long nowNanos, boolean waiting) {
        if (waiting) {
            carriedNanos += nowNanos - Math.max(waitingSinceNanos, sessionUpNanos);
        }
    }

    /** The time waited with a session up: earlier sessions' and, while {@code connected}, this one's. */
    long waitedNanos(long nowNanos, boolean connected) {
        return carriedNanos + (connected ? nowNanos - Math.max(waitingSinceNanos, sessionUpNanos) : 0);
    }

    /** How many of the shipper's {@code reconnects} came since the clock started. */
    long reconnectsSince(long reconnects) {
        return reconnects - reconnectsAtStart;
    }
}
