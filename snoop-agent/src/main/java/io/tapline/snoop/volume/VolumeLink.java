package io.tapline.snoop.volume;

import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.Closeable;
import java.io.IOException;

/**
 * A link a volume's capture buffer ships over besides the journey shippers of
 * {@link VolumeRouter.Settings#remotes()}: the command log on Kafka ({@code tapline snoop --kafka}).
 * The router does not know the transport: the caller's {@link Factory} starts one link per volume
 * when the volume's size is known, as it starts the journey shippers; the router reports the
 * link's {@link #status()} with theirs and closes it with the buffer.
 *
 * <p>Thread-safety: {@link #status()} is called from any thread (status files, import waits).
 */
public interface VolumeLink extends Closeable {

    /** A snapshot of the link, in the journey shipper's terms (acknowledged sequence, connected, last error). */
    ShipperStatus status();

    /** Starts a volume's link; called under the router's lock, so it must not block on the network. */
    @FunctionalInterface
    interface Factory {
        /**
         * @param volume         the volume's name (its buffer's volume id)
         * @param sizeBytes      the volume's size
         * @param blockSizeBytes its logical block size
         * @param buffer         the buffer to ship (the link registers its own cursor)
         */
        VolumeLink start(String volume, long sizeBytes, int blockSizeBytes, CaptureBuffer buffer) throws IOException;
    }
}
