package io.tapline.wedge.capture;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.AppendRequest;
import java.util.Objects;

/**
 * One write-nature command for the {@link VolumeSequencer}: what to apply to the primary and
 * capture, and whom to tell when it is done.
 *
 * @param kind        WRITE, WRITE_ZEROES, DISCARD, FLUSH, or MARK (an administrator's bookmark, payload = name)
 * @param offsetBytes first byte of the range (0 for FLUSH)
 * @param lengthBytes length of the range (0 for FLUSH)
 * @param flags       {@link CaptureRecord#FLAG_FUA}, {@link CaptureRecord#FLAG_NO_HOLE}
 * @param provenance  bus WEDGE, client address, export, NBD cookie and command type
 * @param payload     WRITE data (shared, never modified; a large one's array goes back to the export's
 *                    {@link io.tapline.wedge.nbd.PayloadArrays} once the command is complete); empty otherwise
 * @param listener    receives the outcome
 */
public record WriteCommand(RecordKind kind, long offsetBytes, long lengthBytes, int flags, Provenance provenance,
        byte[] payload, CompletionListener listener) implements AppendRequest {

    private static final byte[] EMPTY = new byte[0];

    public WriteCommand {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(provenance, "provenance");
        Objects.requireNonNull(listener, "listener");
        payload = payload == null ? EMPTY : payload;
        if (kind != RecordKind.WRITE && kind != RecordKind.WRITE_ZEROES && kind != RecordKind.DISCARD
                && kind != RecordKind.FLUSH && kind != RecordKind.MARK) {
            throw new IllegalArgumentException("kind: " + kind
                    + " (expected: WRITE, WRITE_ZEROES, DISCARD, FLUSH, MARK)");
        }
        if (kind == RecordKind.WRITE && payload.length != lengthBytes) {
            throw new IllegalArgumentException(
                    "payload.length: " + payload.length + " (expected: lengthBytes " + lengthBytes + ")");
        }
    }

    /** Whether the reply must wait until the command is on stable storage (FUA, FLUSH, MARK). */
    public boolean needsDurability() {
        return kind == RecordKind.FLUSH || kind == RecordKind.MARK || (flags & CaptureRecord.FLAG_FUA) != 0;
    }
}
