package io.tapline.snoop.volume;

/**
 * Counters of one snooped volume. Written by the capture thread, read by any (values are
 * individually volatile, not a consistent snapshot).
 */
public final class VolumeStats {
    volatile long writes;
    volatile long writeBytes;
    volatile long zeroes;
    volatile long discards;
    volatile long flushes;
    volatile long gaps;
    volatile long reads;
    volatile long notStored;
    volatile long sizeBytes = -1;
    volatile int blockSizeBytes;

    public long writes() {
        return writes;
    }

    public long writeBytes() {
        return writeBytes;
    }

    public long zeroes() {
        return zeroes;
    }

    public long discards() {
        return discards;
    }

    public long flushes() {
        return flushes;
    }

    public long gaps() {
        return gaps;
    }

    public long reads() {
        return reads;
    }

    /** Records the buffer refused (full); the buffer remembers their ranges. */
    public long notStored() {
        return notStored;
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    public int blockSizeBytes() {
        return blockSizeBytes;
    }
}
