package io.tapline.journey.shipper;

import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.RecordReader;
import java.io.IOException;

/** Adapts a {@link CaptureBuffer}; as thread-safe as the buffer. */
final class BufferRecordSource implements RecordSource {
    private final CaptureBuffer buffer;

    BufferRecordSource(CaptureBuffer buffer) {
        this.buffer = buffer;
    }

    @Override
    public void registerRemote(String remoteId) throws IOException {
        buffer.registerRemote(remoteId);
    }

    @Override
    public long acknowledged(String remoteId) {
        return buffer.acknowledged(remoteId);
    }

    @Override
    public void acknowledge(String remoteId, long sequence) throws IOException {
        buffer.acknowledge(remoteId, sequence);
    }

    @Override
    public long lastSequence() {
        return buffer.lastSequence();
    }

    @Override
    public long firstSequence() {
        return buffer.firstSequence();
    }

    @Override
    public void rewind(String remoteId, long sequence) throws IOException {
        buffer.rewind(remoteId, sequence);
    }

    @Override
    public void makeDurable(long sequence) throws IOException {
        if (buffer.durableSequence() < sequence) {
            buffer.sync(); // group commit: shares the fsync with the wedge's FLUSH/FUA waiters
        }
    }

    @Override
    public boolean numberPast(long replicaSequence, String why) throws IOException {
        return buffer.numberPast(replicaSequence, why);
    }

    @Override
    public RecordReader openReader(long fromSequence) throws IOException {
        return buffer.openReader(fromSequence);
    }
}
