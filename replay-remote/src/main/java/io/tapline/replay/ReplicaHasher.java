package io.tapline.replay;

import io.tapline.journey.control.ChunkHash;
import io.tapline.journey.control.ChunkHashReply;
import io.tapline.journey.control.ChunkHashRequest;
import io.tapline.journey.control.HoleRuns;
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
        for (int i = 0; i < req.count(); ) {
            long offset = (req.firstChunk() + i) * (long) req.chunkBytes();
            int holes = HoleRuns.chunksInHole(replica::isHole, offset, req.chunkBytes(), req.count() - i, size);
            for (int end = i + holes; i < end; i++) { // holes read as zeros: neither read nor hashed again
                long at = (req.firstChunk() + i) * (long) req.chunkBytes();
                int length = (int) Math.min(req.chunkBytes(), size - at);
                newest[i] = writes.newestIn(at, length);
                hashes[i] = ChunkHash.ofZeros(length);
            }
            if (holes > 0) {
                continue;
            }
            int length = (int) Math.max(0, Math.min(req.chunkBytes(), size - offset));
            newest[i] = writes.newestIn(offset, length);
            if (length > 0) {
                replica.readForScan(offset, ByteBuffer.wrap(chunk, 0, length)); // no readahead: no large folios left
            }
            hashes[i++] = ChunkHash.of(chunk, 0, length);
        }
        return new ChunkHashReply(req.requestId(), appliedSequence, hashes, newest, "");
    }
}
