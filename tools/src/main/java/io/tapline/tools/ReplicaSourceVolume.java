package io.tapline.tools;

import io.tapline.journey.resync.SourceVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A replica as the source of the next hop of a cascade (A → B → C): B's forwarder resyncs C from
 * B's replica image. Quiescent points are on the volume's apply thread, between two applied
 * groups, where forwarded records are appended too: what a resync reads and appends is ordered
 * exactly between them ({@code ReplayServer.onApplyThread}).
 */
final class ReplicaSourceVolume implements SourceVolume, AutoCloseable {
    /** Runs an action on a volume's apply thread ({@link ReplayServer#onApplyThread}). */
    @FunctionalInterface
    interface ApplyThread {
        <T> T run(String volumeId, java.util.concurrent.Callable<T> action) throws IOException, InterruptedException;
    }

    private final ApplyThread server;
    private final String volumeId;
    private final long sizeBytes;
    private final FileChannel image;

    ReplicaSourceVolume(ApplyThread server, String volumeId, Path image, long sizeBytes) throws IOException {
        this.server = server;
        this.volumeId = volumeId;
        this.sizeBytes = sizeBytes;
        this.image = FileChannel.open(image, StandardOpenOption.READ);
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public void read(long offsetBytes, ByteBuffer dst) throws IOException {
        long pos = offsetBytes;
        while (dst.hasRemaining()) {
            int n = image.read(dst, pos);
            if (n < 0) {
                while (dst.hasRemaining()) {
                    dst.put((byte) 0); // a sparse tail past the file's end reads as zeroes
                }
                break;
            }
            pos += n;
        }
    }

    @Override
    public <T> T atQuiescentPoint(Action<T> action) throws IOException, InterruptedException {
        return server.run(volumeId, action::run);
    }

    @Override
    public void close() throws IOException {
        image.close();
    }
}
