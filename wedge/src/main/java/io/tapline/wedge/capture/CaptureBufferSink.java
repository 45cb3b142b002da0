package io.tapline.wedge.capture;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/** {@link CaptureSink} over a {@link CaptureBuffer}: a straight pass-through. Thread-safety is the buffer's. */
final class CaptureBufferSink implements CaptureSink {
    private final CaptureBuffer buffer;

    CaptureBufferSink(CaptureBuffer buffer) {
        this.buffer = Objects.requireNonNull(buffer, "buffer");
    }

    @Override
    public CaptureRecord append(RecordKind kind, long offsetBytes, long lengthBytes, int flags,
            Provenance provenance, byte[] payload) throws IOException {
        return buffer.append(kind, offsetBytes, lengthBytes, flags, provenance, payload);
    }

    @Override
    public List<CaptureRecord> appendAll(List<WriteCommand> commands) throws IOException {
        return buffer.appendBatch(commands); // a WriteCommand is an AppendRequest: no copy per record
    }

    @Override
    public void prepare(List<WriteCommand> commands) throws IOException {
        buffer.prepare(commands);
    }

    @Override
    public void sync() throws IOException {
        buffer.sync();
    }

    @Override
    public void confirmDurable(long sequence) {
        buffer.confirmDurable(sequence);
    }

    @Override
    public boolean wantsDurablePoint() {
        return buffer.wantsDurablePoint();
    }

    @Override
    public void fail(String reason) {
        buffer.fail(reason);
    }

    @Override
    public String toString() {
        return "CaptureBufferSink[" + buffer + "]";
    }
}
