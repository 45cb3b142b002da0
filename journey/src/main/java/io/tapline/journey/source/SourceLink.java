package io.tapline.journey.source;

import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.Closeable;
import java.io.IOException;

/**
 * A link a volume's capture buffer ships over besides the journey {@code Shipper}s of its
 * {@link SourceSide}: the command log on Kafka ({@code --kafka}). The source side does not know
 * the transport: it reports the link's {@link #status()} with the shippers' (link-status.json,
 * an import's wait) and closes it before the buffer.
 *
 * <p>Thread-safety: {@link #status()} is called from any thread.
 */
public interface SourceLink extends Closeable {

    /** A snapshot of the link, in the journey shipper's terms (acknowledged sequence, connected, last error). */
    ShipperStatus status();

    /** Tells {@code listener} (on the link's thread; it must not block) when the link goes up or down. */
    default void onChange(Runnable listener) {
    }

    /** Starts one volume's link when the volume's size is known; must not block on the network. */
    @FunctionalInterface
    interface Factory {
        /**
         * @param volume         the volume's name (its buffer's volume id)
         * @param sizeBytes      the volume's size
         * @param blockSizeBytes its logical block size
         * @param buffer         the buffer to ship (the link registers its own cursor)
         */
        SourceLink start(String volume, long sizeBytes, int blockSizeBytes, CaptureBuffer buffer) throws IOException;
    }
}
