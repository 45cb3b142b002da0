package io.tapline.log.undo;

import io.tapline.log.AlignedStaging;
import java.nio.ByteBuffer;

/**
 * The direct memory an undo log's writer appends through, handed from each segment to the next:
 * the buffer pending records gather in ({@link UndoSegment#PENDING_BYTES}) and the staging memory
 * of their O_DIRECT writes. A sealed segment gives its pending buffer back and the next segment
 * takes it, so that a 64 MiB segment does not cost two newly allocated, zeroed buffers of several
 * MiB each (every new page a first touch; docs/benchmarks.md#aligned-staging).
 *
 * <p>Used by the log's writer thread only.
 */
final class UndoAppendMemory {
    private final AlignedStaging staging = new AlignedStaging();
    private ByteBuffer sparePending;

    /** The staging memory of every segment's direct appender. */
    AlignedStaging staging() {
        return staging;
    }

    /** A cleared pending buffer of at least {@code bytes}, owned by the caller until {@link #givePending}. */
    ByteBuffer takePending(int bytes) {
        ByteBuffer b = sparePending;
        sparePending = null;
        if (b == null || b.capacity() < bytes) {
            return ByteBuffer.allocateDirect(bytes);
        }
        return b.clear();
    }

    /** Takes back a pending buffer its segment no longer uses (null is ignored). */
    void givePending(ByteBuffer b) {
        if (b != null) {
            sparePending = b;
        }
    }
}
