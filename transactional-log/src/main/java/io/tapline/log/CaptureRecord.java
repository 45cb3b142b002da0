package io.tapline.log;

import java.util.Arrays;
import java.util.Objects;

/**
 * One captured write-nature command (or a mark, a flush barrier, a gap): the unit that the
 * capture buffer stores, the journey link ships and the replayer applies.
 *
 * <p>The {@code crc32c} covers every encoded byte after the CRC field (see {@link RecordCodec});
 * it is computed once, when the record is {@linkplain #seal sealed} at capture, and every hop
 * checks it with {@link #verify()} until the bytes land on the replica.
 *
 * <p>Immutable in contract: the payload array is owned by the record once sealed and must not
 * be changed by anyone (it is not copied, for speed).
 *
 * @param volumeId         the volume the record belongs to (at most 255 UTF-8 bytes)
 * @param sequence         dense per-volume sequence number, from 1, assigned at capture
 * @param captureTimeNanos capture time, UTC nanoseconds since the epoch
 * @param kind             what the record stands for
 * @param offsetBytes      first byte of the affected range on the volume
 * @param lengthBytes      length of the affected range (0 for FLUSH and MARK)
 * @param flags            {@link #FLAG_FUA}, {@link #FLAG_NO_HOLE}
 * @param provenance       where the command came from
 * @param payload          the data for WRITE, the UTF-8 name for MARK or reason for GAP, else empty
 * @param crc32c           CRC-32C of the encoded record body
 */
public record CaptureRecord(
        String volumeId,
        long sequence,
        long captureTimeNanos,
        RecordKind kind,
        long offsetBytes,
        long lengthBytes,
        int flags,
        Provenance provenance,
        byte[] payload,
        int crc32c) {

    /** Forced unit access: the host asked for this write to be on stable storage when acknowledged. */
    public static final int FLAG_FUA = 1;
    /** WRITE_ZEROES that must not deallocate (NBD_CMD_FLAG_NO_HOLE). */
    public static final int FLAG_NO_HOLE = 2;
    /**
     * On a GAP: the source lost every record between the receiver's last one and this GAP (a
     * write-once buffer after a power cut). A receiver further back may continue here, out of
     * sync until a resync heals it; a hole before any other record is never skipped.
     */
    public static final int FLAG_RECORDS_LOST = 4;

    private static final byte[] EMPTY = new byte[0];

    public CaptureRecord {
        Objects.requireNonNull(volumeId, "volumeId");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(provenance, "provenance");
        Objects.requireNonNull(payload, "payload");
        if (sequence < 1) {
            throw new IllegalArgumentException("sequence: " + sequence + " (expected: >= 1)");
        }
        if (offsetBytes < 0) {
            throw new IllegalArgumentException("offsetBytes: " + offsetBytes + " (expected: >= 0)");
        }
        if (lengthBytes < 0) {
            throw new IllegalArgumentException("lengthBytes: " + lengthBytes + " (expected: >= 0)");
        }
        if (kind == RecordKind.WRITE && payload.length != lengthBytes) {
            throw new IllegalArgumentException(
                    "payload.length: " + payload.length + " (expected: lengthBytes " + lengthBytes + " for WRITE)");
        }
        if (flags < 0 || flags > 0xFFFF) {
            throw new IllegalArgumentException("flags: " + flags + " (expected: 0..65535)");
        }
    }

    /**
     * Builds a record and computes its CRC-32C: the one place a checksum is made.
     */
    public static CaptureRecord seal(String volumeId, long sequence, long captureTimeNanos, RecordKind kind,
            long offsetBytes, long lengthBytes, int flags, Provenance provenance, byte[] payload) {
        CaptureRecord unsealed = new CaptureRecord(volumeId, sequence, captureTimeNanos, kind, offsetBytes,
                lengthBytes, flags, provenance, payload == null ? EMPTY : payload, 0);
        return unsealed.withCrc(RecordCodec.computeCrc(unsealed));
    }

    /** Returns the same record with another sequence number, resealed (used only by the sequencer). */
    public CaptureRecord withSequence(long newSequence) {
        return seal(volumeId, newSequence, captureTimeNanos, kind, offsetBytes, lengthBytes, flags, provenance,
                payload);
    }

    private CaptureRecord withCrc(int crc) {
        return new CaptureRecord(volumeId, sequence, captureTimeNanos, kind, offsetBytes, lengthBytes, flags,
                provenance, payload, crc);
    }

    /**
     * Recomputes the CRC-32C and compares it with the stored one.
     *
     * @throws RecordFormatException naming the volume and sequence on mismatch
     */
    public CaptureRecord verify() {
        int actual = RecordCodec.computeCrc(this);
        if (actual != crc32c) {
            throw new RecordFormatException(String.format(
                    "crc32c: 0x%08x (expected: 0x%08x) volume=%s seq=%d", actual, crc32c, volumeId, sequence));
        }
        return this;
    }

    /** Whether the host asked for forced unit access. */
    public boolean fua() {
        return (flags & FLAG_FUA) != 0;
    }

    /** Whether this is a GAP after which a receiver further back may continue ({@link #FLAG_RECORDS_LOST}). */
    public boolean recordsLostBefore() {
        return kind == RecordKind.GAP && (flags & FLAG_RECORDS_LOST) != 0;
    }

    /** The mark name (MARK) or gap reason (GAP) held in the payload. */
    public String text() {
        return new String(payload, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Encoded size in bytes, on disk and on the wire. */
    public int encodedSize() {
        return RecordCodec.encodedSize(this);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CaptureRecord r
                && sequence == r.sequence && captureTimeNanos == r.captureTimeNanos && kind == r.kind
                && offsetBytes == r.offsetBytes && lengthBytes == r.lengthBytes && flags == r.flags
                && crc32c == r.crc32c && volumeId.equals(r.volumeId) && provenance.equals(r.provenance)
                && Arrays.equals(payload, r.payload);
    }

    @Override
    public int hashCode() {
        return Objects.hash(volumeId, sequence, kind, offsetBytes, lengthBytes, crc32c);
    }

    @Override
    public String toString() {
        return "CaptureRecord[volume=" + volumeId + ", seq=" + sequence + ", kind=" + kind + ", offset="
                + offsetBytes + ", length=" + lengthBytes + ", flags=" + flags + ", payload=" + payload.length
                + "B, crc32c=" + String.format("0x%08x", crc32c) + "]";
    }
}
