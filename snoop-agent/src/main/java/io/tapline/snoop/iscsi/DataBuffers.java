package io.tapline.snoop.iscsi;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Recycles the per-command data arrays of one connection: a transfer of many equal-sized
 * commands (a copy tool writing 2 MiB at a time) reuses a handful of arrays instead of
 * allocating, zeroing and collecting one per command. At most {@link #MAX_POOLED_BYTES} are kept.
 *
 * <p>A recycled array keeps its old bytes: a task reads only what it received
 * ({@link IscsiTask#complete()} decides). Not thread-safe: the capture thread owns it.
 */
final class DataBuffers {
    static final long MAX_POOLED_BYTES = 32L << 20;

    private final Map<Integer, ArrayDeque<byte[]>> free = new HashMap<>();
    private long pooledBytes;

    /** An array of exactly {@code size} bytes, recycled when one is free. */
    byte[] take(int size) {
        ArrayDeque<byte[]> q = free.get(size);
        byte[] a = q == null ? null : q.pollFirst();
        if (a == null) {
            return new byte[size];
        }
        pooledBytes -= size;
        return a;
    }

    /** Returns an array nobody refers to any more (or drops it when the pool is full). */
    void give(byte[] a) {
        if (a == null || a.length == 0 || pooledBytes + a.length > MAX_POOLED_BYTES) {
            return;
        }
        free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).addFirst(a);
        pooledBytes += a.length;
    }
}
