package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Reads a file through a window of at least 1 MiB, so that scanning records costs one read
 * per window rather than two per record. Returns views into its buffer: valid only until the
 * next call. The window is direct memory: the file is read into it without the JDK's copy
 * through a temporary direct buffer, and a shipper copies records from it into its direct frame
 * (and checksums them) without a heap copy in between.
 *
 * <p>A reader moves its window from segment to segment ({@link #readFrom}) rather than making a
 * new one: each new direct buffer is zeroed memory, every page a first touch
 * (docs/benchmarks.md#aligned-staging). It grows at least twofold when a record is larger.
 *
 * <p>Not thread-safe: one per scanning thread.
 */
final class SegmentWindow {
    private static final int MIN_WINDOW_BYTES = 1 << 20;

    private FileChannel channel;
    private ByteBuffer window = ByteBuffer.allocateDirect(MIN_WINDOW_BYTES);
    private long windowStart;
    private int windowBytes;

    SegmentWindow(FileChannel channel) {
        this.channel = channel;
    }

    /**
     * A view of {@code [position, position + lengthBytes)} (position 0 .. limit lengthBytes),
     * or {@code null} when the file ends first. Reads no further than {@code endBytes}.
     */
    ByteBuffer view(long position, int lengthBytes, long endBytes) throws IOException {
        if (position < windowStart || position + lengthBytes > windowStart + windowBytes) {
            if (position + lengthBytes > endBytes) {
                return null;
            }
            if (window.capacity() < lengthBytes) {
                window = ByteBuffer.allocateDirect(Math.max(lengthBytes, (int) Math.min(Integer.MAX_VALUE, 2L * window.capacity())));
            }
            window.clear();
            window.limit((int) Math.min(window.capacity(), endBytes - position));
            windowStart = position;
            windowBytes = DurableFiles.readUpTo(channel, window, position);
            if (windowBytes < lengthBytes) {
                return null;
            }
        }
        int at = (int) (position - windowStart);
        return window.duplicate().limit(at + lengthBytes).position(at).slice();
    }

    /** Reads {@code channel} from now on (another segment, or the same file reopened), with the same memory. */
    SegmentWindow readFrom(FileChannel channel) {
        this.channel = channel;
        invalidate();
        return this;
    }

    /** Forgets the buffered bytes (the file changed under them). */
    void invalidate() {
        windowStart = 0;
        windowBytes = 0;
    }
}
