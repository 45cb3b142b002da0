package io.tapline.log;

import java.nio.ByteBuffer;

/**
 * The aligned direct memory in which {@link DirectAppender}s stage their O_DIRECT writes, shared by
 * every segment file of one log's writer (a capture buffer, an undo log) so that it is allocated
 * once per log, not once per segment.
 *
 * <p>Why: {@code ByteBuffer.allocateDirect} zeroes fresh memory, and on a virtual machine every new
 * page is a first touch. With a buffer per segment, and grown to each larger batch, a capture-only
 * wedge under sequential 1 MiB writes spent 7-8 % of its CPU in those page faults
 * (docs/benchmarks.md#aligned-staging).
 *
 * <p>It grows to the largest append staged in it, rounded up to a power of two (1 MiB at least),
 * and keeps that size. Each append holds its monitor while it uses the memory, so appenders of
 * different files may share one safely; within a log there is one writer anyway.
 */
public final class AlignedStaging {
    /** Every block size a direct appender accepts (512 B to 64 KiB) divides this. */
    static final int ALIGNMENT = 1 << 16;
    private static final int MIN_BYTES = 1 << 20;

    private ByteBuffer buffer;

    /**
     * The staging memory, cleared, of at least {@code bytes}, starting on an {@link #ALIGNMENT}
     * boundary. The caller must hold this object's monitor until it is done with it.
     */
    ByteBuffer atLeast(int bytes) {
        if (buffer == null || buffer.capacity() < bytes) {
            buffer = aligned(capacityFor(bytes));
        }
        return buffer.clear();
    }

    /** The capacity the memory grows to for an append of {@code bytes}. */
    static int capacityFor(int bytes) {
        if (bytes <= MIN_BYTES) {
            return MIN_BYTES;
        }
        int pow2 = Integer.highestOneBit(bytes);
        return pow2 == bytes || pow2 == 1 << 30 ? Math.max(bytes, pow2) : pow2 << 1;
    }

    /** Bytes held now (0 before the first append). */
    public synchronized int capacityBytes() {
        return buffer == null ? 0 : buffer.capacity();
    }

    private static ByteBuffer aligned(int bytes) {
        return ByteBuffer.allocateDirect(Math.addExact(bytes, ALIGNMENT)).alignedSlice(ALIGNMENT);
    }
}
