package io.tapline.log.buffer;

import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.util.Objects;

/**
 * One record to append with {@link CaptureBuffer#appendBatch}: the fields of
 * {@link CaptureBuffer#append}, which the buffer seals with the next sequence and its capture time.
 *
 * @param payload WRITE data (shared with the caller, never modified); empty or null otherwise
 */
public record AppendRequest(RecordKind kind, long offsetBytes, long lengthBytes, int flags, Provenance provenance,
        byte[] payload) {

    private static final byte[] EMPTY = new byte[0];

    public AppendRequest {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(provenance, "provenance");
        payload = payload == null ? EMPTY : payload;
    }
}
