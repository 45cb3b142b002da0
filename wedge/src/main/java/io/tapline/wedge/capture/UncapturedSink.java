package io.tapline.wedge.capture;

import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import java.io.IOException;

/**
 * The sink of a volume in cycle mode: the host's writes are not captured one by one (the volume's
 * layers keep them, and each cycle copies the frozen image), so data commands are accepted without
 * storing anything. A MARK is refused ({@code null}: not stored): in cycle mode a replica only holds
 * the images of whole cycles, and a mark between two would name a point no replica ever holds.
 *
 * <p>Thread-safe (stateless).
 */
public final class UncapturedSink implements CaptureSink {
    private static final CaptureRecord ACCEPTED = CaptureRecord.seal("cycles", 1, 0, RecordKind.FLUSH, 0, 0, 0,
            new Provenance(Bus.INTERNAL, "cycles", "not captured", 0, 0, 0), null);

    @Override
    public CaptureRecord append(RecordKind kind, long offsetBytes, long lengthBytes, int flags, Provenance provenance,
            byte[] payload) throws IOException {
        return kind == RecordKind.MARK ? null : ACCEPTED;
    }

    @Override
    public void sync() {
        // the volume's force() makes its layers durable; nothing was appended here
    }

    @Override
    public void fail(String reason) {
        // nothing to mark: a failed volume's layers keep only what was forced, and the next cycle copies it
    }

    @Override
    public String toString() {
        return "UncapturedSink";
    }
}
