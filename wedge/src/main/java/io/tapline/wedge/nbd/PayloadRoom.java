package io.tapline.wedge.nbd;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Bounds the memory held by WRITE payloads still arriving, across every connection of the process.
 *
 * <p>A WRITE's payload array is taken when its header is decoded, before its bytes arrive (the
 * bytes are then copied once, straight from the socket). Without a bound, many clients that each
 * send a 32 MiB WRITE header and hold back the payload filled the heap: {@code OutOfMemoryError} on
 * the event loops and connections dropped (probe E, E6). Now a header whose payload does not fit
 * waits: its connection stops reading until a payload completes or its connection goes. So that
 * clients which never finish their payloads cannot hold the room for ever, a connection whose
 * payload made no progress for {@linkplain #stallTimeout the stall timeout} while another waits
 * for room is disconnected (a hard disconnect: proto.md lets a server drop a connection, and the
 * request was never acknowledged).
 *
 * <p>One room per process ({@link #shared}), sized {@code -Dtapline.wedge.payloadRoomBytes}
 * (default a quarter of the heap); the stall timeout {@code -Dtapline.wedge.payloadStallSeconds}
 * (default 30). The first payload always fits, whatever its size, so one request never waits for
 * ever on a small room; payloads under {@link #MIN_BYTES} take none. Thread-safe.
 */
public final class PayloadRoom {
    /** Payloads smaller than this take no room (they are bounded by the connections' count). */
    public static final int MIN_BYTES = PayloadArrays.MIN_POOLED_BYTES;
    private static final PayloadRoom SHARED = new PayloadRoom(
            Long.getLong("tapline.wedge.payloadRoomBytes", Runtime.getRuntime().maxMemory() / 4),
            Duration.ofSeconds(Long.getLong("tapline.wedge.payloadStallSeconds", 30)));

    /** One connection's stake in the room: how it is woken, and how it is asked to drop a stalled payload. */
    public interface Holder {
        /** Room may be free now: try the waiting header again (called on any thread; must not block). */
        void roomFreed();

        /**
         * Another connection waits for room: drop this connection if its payload has made no
         * progress for {@code stallTimeout} (called on any thread; must not block).
         */
        void dropIfStalled(Duration stallTimeout);
    }

    private volatile long limitBytes;
    private volatile Duration stallTimeout;
    private long reservedBytes;
    private long peakBytes;
    private final Set<Holder> holders = new LinkedHashSet<>();
    private final Set<Holder> waiters = new LinkedHashSet<>();

    PayloadRoom(long limitBytes, Duration stallTimeout) {
        configure(limitBytes, stallTimeout);
    }

    /** The process's room, shared by every export and endpoint. */
    public static PayloadRoom shared() {
        return SHARED;
    }

    /** Changes the bound and the stall timeout (tests; an embedding program). */
    public void configure(long limitBytes, Duration stallTimeout) {
        if (limitBytes < 1) {
            throw new IllegalArgumentException("limitBytes: " + limitBytes + " (expected: >= 1)");
        }
        if (stallTimeout.isNegative() || stallTimeout.isZero()) {
            throw new IllegalArgumentException("stallTimeout: " + stallTimeout + " (expected: > 0)");
        }
        this.limitBytes = limitBytes;
        this.stallTimeout = stallTimeout;
    }

    /** How long a payload may make no progress while others wait before its connection is dropped. */
    public Duration stallTimeout() {
        return stallTimeout;
    }

    /**
     * Reserves {@code bytes} for {@code holder}'s payload, or registers it to be woken when room
     * is freed and asks the holders of the room to drop stalled payloads.
     *
     * @return true when reserved; the holder must {@link #release} them exactly once
     */
    public boolean tryReserve(Holder holder, long bytes) {
        List<Holder> toAsk;
        synchronized (this) {
            if (reservedBytes == 0 || reservedBytes + bytes <= limitBytes) {
                reservedBytes += bytes;
                peakBytes = Math.max(peakBytes, reservedBytes);
                holders.add(holder);
                waiters.remove(holder);
                return true;
            }
            waiters.add(holder);
            toAsk = new ArrayList<>(holders);
        }
        Duration stall = stallTimeout;
        toAsk.forEach(h -> h.dropIfStalled(stall));
        return false;
    }

    /** Frees {@code bytes} {@code holder} reserved (its payload arrived, or its connection went) and wakes the waiters. */
    public void release(Holder holder, long bytes) {
        List<Holder> toWake;
        synchronized (this) {
            reservedBytes -= bytes;
            holders.remove(holder);
            toWake = new ArrayList<>(waiters);
        }
        toWake.forEach(Holder::roomFreed);
    }

    /** {@code holder} no longer waits (its connection went). */
    public synchronized void cancel(Holder holder) {
        waiters.remove(holder);
    }

    /** Bytes reserved now. */
    public synchronized long reservedBytes() {
        return reservedBytes;
    }

    /** The most bytes ever reserved at once (tests). */
    public synchronized long peakBytes() {
        return peakBytes;
    }

    /** Forgets the peak (tests). */
    public synchronized void resetPeak() {
        peakBytes = reservedBytes;
    }
}
