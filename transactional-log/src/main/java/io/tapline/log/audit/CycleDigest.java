package io.tapline.log.audit;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The digest of one cycle's copy (cycle mode), so an auditor can check that a replica applied
 * exactly what the source sent from its frozen image: SHA-256 over each WRITE record of the
 * epoch, in sequence order, as {@code offset (8 bytes, big-endian) ‖ length (8) ‖ SHA-256 of the
 * payload (32)}. The source appends {@link #text} to the epoch's RESYNC_END; the replica's audit
 * log holds every WRITE's range and payload digest between the RESYNC_BEGIN and the RESYNC_END,
 * so {@link AuditVerifier} recomputes it from the log alone.
 *
 * <p>Not thread-safe.
 */
public final class CycleDigest {
    private static final Pattern TEXT = Pattern.compile(" cycle digest: (\\d+) writes sha256 ([0-9a-f]{64})$");

    private final MessageDigest sha = AuditLog.sha256();
    private final MessageDigest payloads = AuditLog.sha256();
    private long writes;

    /** Adds a WRITE of {@code payload} at {@code offsetBytes}. */
    public void addWrite(long offsetBytes, byte[] payload) {
        addWrite(offsetBytes, payload.length, payloads.digest(payload));
    }

    /** Adds a WRITE by its range and payload digest (as an audit entry holds it). */
    public void addWrite(long offsetBytes, long lengthBytes, byte[] payloadDigest) {
        sha.update(ByteBuffer.allocate(16).putLong(offsetBytes).putLong(lengthBytes).array());
        sha.update(payloadDigest);
        writes++;
    }

    /** The text the source appends to the RESYNC_END's reason; ends the digest. */
    public String text() {
        return " cycle digest: " + writes + " writes sha256 " + AuditLog.hex(sha.digest());
    }

    /** The {@link #text} found at the end of {@code detail}, or null when it has none (not a cycle's END). */
    static String find(String detail) {
        Matcher m = TEXT.matcher(detail);
        return m.find() ? m.group() : null;
    }
}
