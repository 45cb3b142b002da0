package io.tapline.journey.resync;

import io.tapline.log.buffer.ChangedChunks;
import java.io.IOException;

/**
 * A volume in cycle mode as the {@link ResyncEngine} drives it: the host writes to an active
 * layer, a freeze turns it into an unchanging image that the engine copies to every replica in one
 * resync epoch, and once every replica acknowledged the epoch's end the frozen layer is merged.
 * Implemented over the wedge's layered volume; thread-safe.
 */
public interface CycleVolume {

    /** An image as of a freeze: the source of one cycle's epoch. It never changes. */
    interface Frozen extends SourceVolume {
        /** The cycle whose writes it holds above the previous one. */
        long cycle();

        /** When it was frozen (epoch milliseconds). */
        long frozenAtMillis();

        /** The chunks of {@code chunkBytes} written in the cycle. */
        ChangedChunks.Snapshot changedChunks(int chunkBytes);

        /**
         * The ranges of {@code [offsetBytes, offsetBytes + lengthBytes)} written in the cycle, each
         * {@code {offset, length}}: a replica that holds the previous cycle can differ nowhere else.
         */
        java.util.List<long[]> writtenRanges(long offsetBytes, long lengthBytes);

        /** No host write goes to the capture buffer in cycle mode, and the image never changes: runs at once. */
        @Override
        default <T> T atQuiescentPoint(Action<T> action) throws IOException {
            return action.run();
        }
    }

    /** The frozen image waiting to be copied, or a new one frozen now (the host's writes wait meanwhile). */
    Frozen freezeIfNone() throws IOException, InterruptedException;

    /** The frozen image waiting to be copied, or null. */
    Frozen pending();

    /** Every replica acknowledged the epoch that copied {@code frozen}: its layer is merged and dropped. */
    void copied(Frozen frozen) throws IOException;

    /** Blocks the host wrote since the last freeze. */
    long changedBlocks();

    /** The cycle taking the host's writes now. */
    long activeCycle();

    /** The group the volume freezes with (one instant for all its volumes); empty for a volume alone. */
    default String group() {
        return "";
    }
}
