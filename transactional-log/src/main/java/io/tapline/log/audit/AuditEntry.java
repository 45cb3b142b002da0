package io.tapline.log.audit;

import java.util.Objects;

/**
 * One entry of a volume's audit log (see {@link AuditLog} for the byte layout).
 *
 * @param index            position in the log, from 1, dense
 * @param loggedNanos      when the replayer logged it, UTC ns
 * @param type             what happened
 * @param sequence         the record's sequence (ROLLBACK, RECOVERY: the sequence before)
 * @param captureTimeNanos the record's capture time (ROLLBACK, RECOVERY: the target sequence)
 * @param offsetBytes      the record's range, 0 when none
 * @param lengthBytes      the record's range, 0 when none
 * @param recordKind       RecordKind wire value, 0 when none
 * @param opcode           NBD command type or SCSI opcode, 0 when none
 * @param payloadDigest    SHA-256 of the payload (WRITE), else 32 zero bytes
 * @param who              provenance ({@code bus initiator -> target}) or the administrator
 * @param detail           mark name, gap reason, rollback description
 * @param hash             SHA-256(previous entry's hash ‖ this entry's bytes before the hash)
 */
public record AuditEntry(long index, long loggedNanos, AuditType type, long sequence, long captureTimeNanos,
        long offsetBytes, long lengthBytes, int recordKind, int opcode, byte[] payloadDigest, String who,
        String detail, byte[] hash) {

    public AuditEntry {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(who, "who");
        Objects.requireNonNull(detail, "detail");
        if (payloadDigest == null || payloadDigest.length != 32) {
            throw new IllegalArgumentException("payloadDigest: " + (payloadDigest == null ? "null"
                    : payloadDigest.length + " bytes") + " (expected: 32 bytes)");
        }
    }

    /** The payload digest in lower-case hex. */
    public String digestHex() {
        return AuditLog.hex(payloadDigest);
    }

    /** The entry hash in lower-case hex. */
    public String hashHex() {
        return hash == null ? "" : AuditLog.hex(hash);
    }
}
