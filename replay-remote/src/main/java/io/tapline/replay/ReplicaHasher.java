package io.tapline.replay;

import io.tapline.journey.control.ChunkHash;
import io.tapline.journey.control.ChunkHashReply;
import io.tapline.journey.control.ChunkHashRequest;
import io.tapline.log.volume.VolumeFile;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Hashes chunks of a replica for a {@link ChunkHashRequest} with {@link ChunkHash}, and reports
 * for each chunk the newest sequence that changed it ({@link ChunkWrites}).
 *
 * <p>Not thread-safe: the volume's apply thread only (so the hashes describe one applied sequence).
 */
final class ReplicaHasher {
    private byte[] chunk = new byte[0];

    ChunkHashReply hash(ChunkHashRequest req, VolumeFile replica, ChunkWrites writes, long appliedSequence)
            throws IOException {
        if (chunk.length != req.chunkBytes()) {
            chunk = new byte[req.chunkBytes()];
        }
        long size = replica.sizeBytes();
        long[] hashes = new long[req.count()];
        long[] newest = new long[req.count()];
        for (int i = 0; i < req.count(); i++) {
            long offset = (req.firstChunk() + i) * (long) req.chunkBytes();
            int length = (int) Math.max(0, Math.min(req.chunkBytes(), size - offset));
            if (length > 0 && replica.isHole(offset, length)) {
                java.util.Arrays.fill(chunk, 0, length, (byte) 0); // a hole reads as zeros: no need to read it
            } else if (length > 0) {
                replica.read(offset, ByteBuffer.wrap(chunk, 0, length));
            }
            hashes[i] = ChunkHash.of(chunk, 0, length);
            newest[i] = writes.newestIn(offset, length);
        }
        return new ChunkHashReply(req.requestId(), appliedSequence, hashes, newest, "");
    }
}
