package io.tapline.wedge.server;

import io.tapline.log.volume.BlockVolume;
import io.tapline.wedge.capture.VolumeSequencer;
import io.tapline.wedge.capture.WriteCommand;
import io.tapline.nbd.NbdFlags;
import io.tapline.wedge.nbd.NbdRequestValidator;
import io.tapline.wedge.nbd.PayloadArrays;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;

/**
 * One named export of an {@link NbdEndpoint} and what every connection to it shares: its size
 * and limits, its connections, and either a wedge's primary volume (with its one sequencer and
 * READ executor) or nothing at all for a standby export.
 *
 * <h2>Standby</h2>
 * A standby export negotiates exactly like a served one (name, size, flags, block sizes), so a
 * host keeps seeing the same disk, but every data command gets EPERM. A wedge's export becomes
 * standby through {@link #standby}; from then on {@link #submitAll} refuses writes. The check and
 * the hand-off to the sequencer happen under this object's monitor, so once {@code standby}
 * returns no write can still reach the sequencer: a fenced primary stops changing at once.
 *
 * <p>Thread-safe.
 */
final class Export {
    /** Advertised in NBD_INFO_BLOCK_SIZE. */
    static final int MIN_BLOCK_BYTES = 1;
    static final int PREFERRED_BLOCK_BYTES = 4096;
    static final int MAX_BLOCK_BYTES = 32 << 20;

    /**
     * HAS_FLAGS, SEND_FLUSH, SEND_FUA, SEND_TRIM, SEND_WRITE_ZEROES, SEND_CACHE, SEND_FAST_ZERO
     * (always refused with ENOTSUP, as proto.md allows) and CAN_MULTI_CONN, which is true
     * because all connections share one sequencer (see {@link VolumeSequencer}). A standby
     * export advertises the same flags (not READ_ONLY): a host's view of the disk must not
     * change when the export is promoted under it.
     */
    static final int TRANSMISSION_FLAGS = NbdFlags.FLAG_HAS_FLAGS | NbdFlags.FLAG_SEND_FLUSH | NbdFlags.FLAG_SEND_FUA
            | NbdFlags.FLAG_SEND_TRIM | NbdFlags.FLAG_SEND_WRITE_ZEROES | NbdFlags.FLAG_SEND_CACHE
            | NbdFlags.FLAG_SEND_FAST_ZERO | NbdFlags.FLAG_CAN_MULTI_CONN;

    final String name;
    final long sizeBytes;
    /** Null for an export created standby (it has no volume). */
    final BlockVolume primary;
    final VolumeSequencer sequencer;
    final ExecutorService readers;
    final NbdRequestValidator validator;
    final long maxInFlightBytes;
    /** The arrays of large WRITE payloads, taken by every connection's decoder, given back on completion. */
    final PayloadArrays payloads = PayloadArrays.pooled();
    final ConnectionTracker connections = new ConnectionTracker();
    /** READ reply bytes handed to the readers and not yet sent (or given up), across connections. */
    final java.util.concurrent.atomic.AtomicLong readReplyBytes = new java.util.concurrent.atomic.AtomicLong();
    /** The most {@link #readReplyBytes} ever were. */
    final java.util.concurrent.atomic.AtomicLong readReplyBytesPeak = new java.util.concurrent.atomic.AtomicLong();
    private volatile String standbyReason;

    private Export(String name, long sizeBytes, BlockVolume primary, VolumeSequencer sequencer,
            ExecutorService readers, long maxInFlightBytes, String standbyReason) {
        this.name = requireName("name", name);
        this.sizeBytes = sizeBytes;
        this.primary = primary;
        this.sequencer = sequencer;
        this.readers = readers;
        this.validator = new NbdRequestValidator(sizeBytes, MAX_BLOCK_BYTES);
        this.maxInFlightBytes = maxInFlightBytes;
        this.standbyReason = standbyReason;
    }

    /** A wedge's export: serves the primary through its sequencer. */
    static Export served(String name, BlockVolume primary, VolumeSequencer sequencer, ExecutorService readers,
            long maxInFlightBytes) {
        return new Export(name, primary.sizeBytes(), primary, sequencer, readers, maxInFlightBytes, null);
    }

    /** An export without a volume that refuses every data command with EPERM, naming {@code reason}. */
    static Export standbyOnly(String name, long sizeBytes, String reason) {
        if (sizeBytes <= 0) {
            throw new IllegalArgumentException("sizeBytes: " + sizeBytes + " (expected: > 0)");
        }
        return new Export(name, sizeBytes, null, null, null, Long.MAX_VALUE, Objects.requireNonNull(reason, "reason"));
    }

    /**
     * Checks an export name as proto.md bounds it (at most 4096 bytes); the empty name means the
     * default export, so it is never a real one.
     */
    static String requireName(String field, String name) {
        Objects.requireNonNull(name, field);
        int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (nameBytes < 1 || nameBytes > 4096) {
            throw new IllegalArgumentException(field + ": " + nameBytes + " UTF-8 bytes (expected: 1..4096)");
        }
        return name;
    }

    /** Whether a wedge's volume stands behind this export (it may still be standby). */
    boolean hasVolume() {
        return primary != null;
    }

    /** Why data commands are refused, or {@code null} while the export serves data. */
    String standbyReason() {
        return standbyReason;
    }

    /**
     * Hands write-nature commands to the sequencer together ({@link VolumeSequencer#submitAll})
     * unless the export is standby.
     *
     * @return false when the commands were refused (standby); their listener is not called then
     */
    synchronized boolean submitAll(List<WriteCommand> commands) {
        if (standbyReason != null) {
            return false;
        }
        sequencer.submitAll(commands);
        return true;
    }

    /**
     * Refuses data commands from now on. Every write {@link #submitAll} accepted before is already
     * in the sequencer's FIFO when this returns; none is accepted after.
     */
    synchronized void standby(String reason) {
        standbyReason = Objects.requireNonNull(reason, "reason");
    }
}
