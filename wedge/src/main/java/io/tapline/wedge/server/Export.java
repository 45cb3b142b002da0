package io.tapline.wedge.server;

import io.tapline.log.volume.VolumeFile;
import io.tapline.wedge.capture.VolumeSequencer;
import io.tapline.wedge.nbd.NbdFlags;
import io.tapline.wedge.nbd.NbdRequestValidator;
import java.util.concurrent.ExecutorService;

/**
 * What every connection to the export shares: the primary volume, its one sequencer, the READ
 * executor and the limits it advertises. Thread-safe (all members are).
 */
final class Export {
    /** Advertised in NBD_INFO_BLOCK_SIZE. */
    static final int MIN_BLOCK_BYTES = 1;
    static final int PREFERRED_BLOCK_BYTES = 4096;
    static final int MAX_BLOCK_BYTES = 32 << 20;

    /**
     * HAS_FLAGS, SEND_FLUSH, SEND_FUA, SEND_TRIM, SEND_WRITE_ZEROES, SEND_CACHE, SEND_FAST_ZERO
     * (always refused with ENOTSUP, as proto.md allows) and CAN_MULTI_CONN, which is true
     * because all connections share one sequencer (see {@link VolumeSequencer}).
     */
    static final int TRANSMISSION_FLAGS = NbdFlags.FLAG_HAS_FLAGS | NbdFlags.FLAG_SEND_FLUSH | NbdFlags.FLAG_SEND_FUA
            | NbdFlags.FLAG_SEND_TRIM | NbdFlags.FLAG_SEND_WRITE_ZEROES | NbdFlags.FLAG_SEND_CACHE
            | NbdFlags.FLAG_SEND_FAST_ZERO | NbdFlags.FLAG_CAN_MULTI_CONN;

    final String name;
    final VolumeFile primary;
    final VolumeSequencer sequencer;
    final ExecutorService readers;
    final NbdRequestValidator validator;
    final long maxInFlightBytes;

    Export(String name, VolumeFile primary, VolumeSequencer sequencer, ExecutorService readers,
            long maxInFlightBytes) {
        this.name = name;
        this.primary = primary;
        this.sequencer = sequencer;
        this.readers = readers;
        this.validator = new NbdRequestValidator(primary.sizeBytes(), MAX_BLOCK_BYTES);
        this.maxInFlightBytes = maxInFlightBytes;
    }

    /** Whether a client asking for {@code requested} means this export ("" is the default export). */
    boolean answersTo(String requested) {
        return requested.isEmpty() || requested.equals(name);
    }

    long sizeBytes() {
        return primary.sizeBytes();
    }
}
