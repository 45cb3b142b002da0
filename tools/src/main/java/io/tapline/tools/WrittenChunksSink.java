package io.tapline.tools;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.ChangedChunks;
import io.tapline.wedge.capture.CaptureSink;
import java.io.IOException;

/**
 * A capture sink that also records, in a durable chunk bitmap, every chunk a write-nature
 * command touched: on a promoted replica, what was written while it was primary, so that a
 * demotion can keep exactly those chunks aside ({@link DiscardedImage}). The bitmap is made
 * durable before the records on each sync, so a write the host saw flushed is always in it. On a
 * cascade node the same chunks are also tracked for the volume's forward hop, so that the next hop
 * follows the promoted volume (by checksum resync) instead of silently stopping where it was.
 */
final class WrittenChunksSink implements CaptureSink {
    private final CaptureSink next;
    private final ChangedChunks written;
    private final ChangedChunks forwarded;

    WrittenChunksSink(CaptureSink next, ChangedChunks written) {
        this(next, written, null);
    }

    /**
     * @param forwarded also marked, when not null: the changed chunks of the volume's forward hop
     *                  on a cascade node ({@link CascadeForwarder#changesOf}), whose resync then
     *                  carries what the promoted volume's host writes to the next hop
     */
    WrittenChunksSink(CaptureSink next, ChangedChunks written, ChangedChunks forwarded) {
        this.next = next;
        this.written = written;
        this.forwarded = forwarded;
    }

    @Override
    public CaptureRecord append(RecordKind kind, long offsetBytes, long lengthBytes, int flags, Provenance provenance,
            byte[] payload) throws IOException {
        if (kind == RecordKind.WRITE || kind == RecordKind.WRITE_ZEROES || kind == RecordKind.DISCARD) {
            written.mark(offsetBytes, lengthBytes);
            if (forwarded != null) {
                forwarded.mark(offsetBytes, lengthBytes);
            }
        }
        return next.append(kind, offsetBytes, lengthBytes, flags, provenance, payload);
    }

    @Override
    public void sync() throws IOException {
        written.force();
        if (forwarded != null) {
            forwarded.force();
        }
        next.sync();
    }

    @Override
    public void confirmDurable(long sequence) {
        next.confirmDurable(sequence); // the buffer's activity log lets extents cool
    }

    @Override
    public boolean wantsDurablePoint() {
        return next.wantsDurablePoint();
    }

    @Override
    public void fail(String reason) {
        next.fail(reason);
    }
}
