package io.tapline.wedge.nbd;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reuses the arrays that hold large WRITE payloads, so that a request's payload is not a new
 * array that the JVM must zero before the socket's bytes overwrite it: 11-15 % of a capture-only
 * wedge's CPU under 1 MiB sequential writes went to that zeroing (docs/benchmarks.md#payload-arrays).
 *
 * <p>An array is {@linkplain #take taken} by the request decoder and {@linkplain #give given}
 * back when its command is complete (captured, applied to the primary, answered), by whoever
 * completes it. Only payloads of {@link #MIN_POOLED_BYTES} or more are pooled, and only arrays of
 * the exact length asked for are handed out (a payload's length is its array's); at most
 * {@code maxPooledBytes} are kept, the rest left to the collector. An array that is never given
 * back (a connection cut mid-request, a command refused) is simply collected.
 *
 * <p>Giving back an array that is still in use would hand one payload to two requests. To make
 * such a mistake show in tests, {@code -Dtapline.wedge.payloadArraysCheck=true} (set for the
 * project's tests) fills every array given back with {@value #POISON}s and throws when an array
 * is given back twice: any later read of it then changes the bytes a test compares. Unchecked, an
 * array given back twice is still pooled only once.
 *
 * <p>Thread-safe: taken on event loops, given back on the sequencer's and flusher's threads, under
 * this object's lock (held for a map lookup and a queue operation, once per request of 64 KiB or more).
 */
public final class PayloadArrays {
    /** Smaller payloads are allocated each time: zeroing them costs little (and 4 KiB writes run inline). */
    public static final int MIN_POOLED_BYTES = 64 << 10;
    /** What a checked pool writes into an array given back. */
    static final byte POISON = (byte) 0xDB;
    /**
     * The default bound of pooled bytes per export: {@code -Dtapline.wedge.payloadArraysBytes} (64 MiB;
     * 0 turns pooling off), at most a sixteenth of the heap, so a small heap keeps room for requests.
     */
    static final long DEFAULT_MAX_POOLED_BYTES = Math.min(Long.getLong("tapline.wedge.payloadArraysBytes", 64L << 20),
            Runtime.getRuntime().maxMemory() / 16);
    private static final boolean CHECK = Boolean.getBoolean("tapline.wedge.payloadArraysCheck");

    private final long maxPooledBytes;
    private final boolean check;
    private final Map<Integer, ArrayDeque<byte[]>> free = new HashMap<>();
    /** Arrays in the pool, by identity: one given back twice is pooled once, never handed to two requests. */
    private final Set<byte[]> pooled = Collections.newSetFromMap(new IdentityHashMap<>());
    private long pooledBytes;

    private PayloadArrays(long maxPooledBytes, boolean check) {
        if (maxPooledBytes < 0) {
            throw new IllegalArgumentException("maxPooledBytes: " + maxPooledBytes + " (expected: >= 0)");
        }
        this.maxPooledBytes = maxPooledBytes;
        this.check = check;
    }

    /** A pool bounded by {@link #DEFAULT_MAX_POOLED_BYTES}. */
    public static PayloadArrays pooled() {
        return new PayloadArrays(DEFAULT_MAX_POOLED_BYTES, CHECK);
    }

    /** A pool that keeps at most {@code maxPooledBytes}; {@code check} as the system property does. */
    static PayloadArrays pooled(long maxPooledBytes, boolean check) {
        return new PayloadArrays(maxPooledBytes, check);
    }

    /** No pool: every payload a new array, as before (tests of the decoder alone, other callers). */
    public static PayloadArrays none() {
        return new PayloadArrays(0, false);
    }

    /**
     * An array of exactly {@code length} bytes to read a payload into; its content is undefined
     * (a reused array holds an earlier payload) and the caller overwrites all of it.
     */
    public byte[] take(int length) {
        byte[] a = length >= MIN_POOLED_BYTES && maxPooledBytes > 0 ? pooledArray(length) : null;
        return a != null ? a : new byte[length];
    }

    private synchronized byte[] pooledArray(int length) {
        ArrayDeque<byte[]> q = free.get(length);
        byte[] a = q == null ? null : q.poll();
        if (a != null) {
            pooledBytes -= a.length;
            pooled.remove(a);
        }
        return a;
    }

    /**
     * Gives back a payload array whose command is complete: nobody reads or writes it any more.
     * Small arrays and arrays past the bound are left to the collector.
     *
     * @throws IllegalStateException in a checked pool, when the array is already in the pool
     */
    public synchronized void give(byte[] array) {
        if (array.length < MIN_POOLED_BYTES || maxPooledBytes == 0) {
            return;
        }
        if (pooled.contains(array)) {
            if (check) {
                throw new IllegalStateException("payload array of " + array.length
                        + " bytes given back twice: it would serve two requests at once");
            }
            return; // pooled already: pooling it again would hand it to two requests
        }
        if (check) {
            Arrays.fill(array, POISON);
        }
        if (pooledBytes + array.length > maxPooledBytes) {
            return;
        }
        pooled.add(array);
        pooledBytes += array.length;
        free.computeIfAbsent(array.length, n -> new ArrayDeque<>()).add(array);
    }

    /** Bytes held in the pool now (for tests and status). */
    synchronized long pooledBytes() {
        return pooledBytes;
    }
}
