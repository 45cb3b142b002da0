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

    /**
     * Fills {@code dst} from {@code offsetBytes} for a scan (a verify, a resync's comparison, a
     * replica's chunk hashes): a pass over the volume whose ranges are not read again soon. Where it
     * can, without the kernel's readahead, which caches what it reads in large folios that make the
     * host's small writes there several times dearer afterwards (docs/benchmarks.md#large-folios).
     * As {@link #read} by default.
     */
    default void readForScan(long offsetBytes, ByteBuffer dst) throws IOException {
        read(offsetBytes, dst);
    }

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
     * Sets what this volume does with the pages its writes dirty ({@link PageCachePolicy});
     * false when this volume cannot (it then keeps its policy, {@link PageCachePolicy#KERNEL}
     * unless it says otherwise).
     */
    default boolean usePageCachePolicy(PageCachePolicy policy) {
        return policy == PageCachePolicy.KERNEL;
    }
}
