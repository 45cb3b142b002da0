package io.tapline.snoop.capture;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * The time of the packet being decoded, for an import: records are stamped with when their
 * command was on the wire, not when the file was read. So two imports of one file make the same
 * records (same capture times, same CRCs: a second import into a new buffer is the same history
 * to a replica that applied the first), and a rollback or an image "as of" a time means the time
 * the host wrote. Set on the capture thread; read by the buffer's appends.
 */
public final class PacketClock extends Clock {
    private volatile long nanos;

    /** Starts at now, until the first packet. */
    public PacketClock() {
        Instant now = Instant.now();
        this.nanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    /** The packet being decoded was captured at {@code timeNanos} (UTC nanoseconds since the epoch). */
    public void advance(long timeNanos) {
        nanos = timeNanos;
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochSecond(0, nanos);
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }
}
