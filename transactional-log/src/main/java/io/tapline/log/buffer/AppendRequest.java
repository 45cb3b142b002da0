package io.tapline.log.buffer;

import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.util.Objects;

/**
 * One record to append with {@link CaptureBuffer#appendBatch}: the fields of
 * {@link CaptureBuffer#append}, which the buffer seals with the next sequence and its capture time.
 * A caller's own command type can implement it (the wedge's {@code WriteCommand} does), so that a
 * run is handed over without a copy per record.
 */
public interface AppendRequest {
    RecordKind kind();

    long offsetBytes();

    long lengthBytes();

    int flags();

    Provenance provenance();

    /** WRITE data (shared with the caller, never modified); empty, never null, otherwise. */
    byte[] payload();

    /** A plain request; a null payload becomes empty. */
    static AppendRequest of(RecordKind kind, long offsetBytes, long lengthBytes, int flags, Provenance provenance,
            byte[] payload) {
        return new Plain(Objects.requireNonNull(kind, "kind"), offsetBytes, lengthBytes, flags,
                Objects.requireNonNull(provenance, "provenance"), payload == null ? new byte[0] : payload);
    }

    /** {@link #of}'s request. */
    record Plain(RecordKind kind, long offsetBytes, long lengthBytes, int flags, Provenance provenance, byte[] payload)
            implements AppendRequest {
    }
}
