package io.tapline.log.volume;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * What the wedge serves a host from: a block device of a fixed size with positional reads and
 * writes, zeroing and durability. A plain image file ({@link VolumeFile}) in journal mode; a base
 * image with redirect-on-write layers ({@link io.tapline.log.cycles.LayeredVolume}) in cycle mode.
 *
 * <p>Implementations are thread-safe for concurrent positional operations; callers order
 * overlapping writes.
 */
public interface BlockVolume extends Closeable {

    /** The volume's size in bytes. */
    long sizeBytes();

    /** Fills {@code dst} from {@code offsetBytes}; the range must lie inside the volume. */
    void read(long offsetBytes, ByteBuffer dst) throws IOException;

    /** Writes all of {@code src} at {@code offsetBytes}. */
    void write(long offsetBytes, ByteBuffer src) throws IOException;

    /** Makes {@code [offsetBytes, offsetBytes + lengthBytes)} read as zeroes. */
    void zero(long offsetBytes, long lengthBytes, boolean mayDeallocate) throws IOException;

    /** Whether the range is known to read as zeros without reading it; false when unknown. */
    default boolean isHole(long offsetBytes, long lengthBytes) {
        return false;
    }

    /** Makes every completed write durable (the host's FLUSH and FUA). */
    void force() throws IOException;

    /**
     * Drops written pages from the page cache once they reached the disk (see
     * {@link VolumeFile#dropWrittenPages}); false when this volume cannot.
     */
    default boolean dropWrittenPages(boolean on) {
        return !on;
    }

    /**
     * Starts each write's writeback at once and keeps at most eight writes dirty, pages kept
     * cached (see {@link VolumeFile#paceWriteback}); false when this volume cannot.
     */
    default boolean paceWriteback() {
        return false;
    }
}
