package io.tapline.kafka;

import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/** A capture buffer and the primary image the same writes produced, for the tests. */
final class SourceVolume implements AutoCloseable {
    final VolumeIdentity identity;
    final CaptureBuffer buffer;
    final byte[] primary;
    private final Random random;

    SourceVolume(Path dir, String volumeId, int sizeBytes, long seed) throws IOException {
        this(dir, volumeId, sizeBytes, seed, BufferConfig.DEFAULT);
    }

    SourceVolume(Path dir, String volumeId, int sizeBytes, long seed, BufferConfig config) throws IOException {
        this.identity = new VolumeIdentity(volumeId, sizeBytes, 4096, "src-" + volumeId);
        this.buffer = CaptureBuffer.open(dir.resolve(volumeId), volumeId, config);
        this.primary = new byte[sizeBytes];
        this.random = new Random(seed);
    }

    /**
     * Captures {@code count} random block-aligned writes of 4..64 KiB and applies them to the primary
     * (a write the buffer cannot store, FULL, is tracked by the buffer as a changed chunk).
     */
    synchronized void write(int count) throws IOException {
        for (int i = 0; i < count; i++) {
            int blocks = 1 + random.nextInt(16);
            int length = blocks * 4096;
            int offset = random.nextInt(primary.length / 4096 - blocks) * 4096;
            byte[] data = new byte[length];
            random.nextBytes(data);
            System.arraycopy(data, 0, primary, offset, length);
            buffer.append(RecordKind.WRITE, offset, length, 0, Provenance.INTERNAL, data);
        }
    }

    /** The primary as a resync reads it; its quiescent point excludes {@link #write}. */
    io.tapline.journey.resync.SourceVolume asResyncSource() {
        SourceVolume self = this;
        return new io.tapline.journey.resync.SourceVolume() {
            @Override
            public long sizeBytes() {
                return primary.length;
            }

            @Override
            public void read(long offsetBytes, java.nio.ByteBuffer dst) {
                synchronized (self) {
                    dst.put(primary, (int) offsetBytes, dst.remaining());
                }
            }

            @Override
            public <T> T atQuiescentPoint(Action<T> action) throws IOException {
                synchronized (self) {
                    return action.run();
                }
            }
        };
    }

    @Override
    public void close() throws IOException {
        buffer.close();
    }
}
