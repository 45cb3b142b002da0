package io.tapline.journey.resync;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The source volume a resync or verify reads: the wedge's primary (or, later, a read-only
 * connection to the volume a snoop-agent taps). Implementations are thread-safe.
 */
public interface SourceVolume {

    /** Work run at a quiescent point of the capture sequence. */
    @FunctionalInterface
    interface Action<T> {
        T run() throws IOException;
    }

    /** The volume's size. */
    long sizeBytes();

    /**
     * Whether the range is a hole the file system knows reads as zeros, so a comparison may hash
     * zeros without reading; false when unknown (the default).
     */
    default boolean isHole(long offsetBytes, long lengthBytes) {
        return false;
    }

    /** Reads {@code dst.remaining()} bytes at {@code offsetBytes}, unordered with writes in flight (a hint). */
    void read(long offsetBytes, ByteBuffer dst) throws IOException;

    /**
     * Runs {@code action} where every write captured before it is on the volume and no later one
     * is captured yet, so that what it reads and appends to the capture buffer is ordered exactly
     * there. The host's writes wait meanwhile.
     */
    <T> T atQuiescentPoint(Action<T> action) throws IOException, InterruptedException;
}
