package io.tapline.journey.resync;

import io.tapline.journey.control.ChunkHash;
import io.tapline.journey.control.HoleRuns;
import io.tapline.journey.control.ChunkHashReply;
import io.tapline.journey.control.ChunkHashRequest;
import io.tapline.journey.shipper.Shipper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Compares a run of chunks of the source volume with every replica by hash: asks each replayer
 * for its chunk hashes over the journey link ({@link ChunkHashRequest}), hashes the same chunks
 * of the source, and reports which differ on any replica. Only hashes cross the link here.
 *
 * <p>Not thread-safe: one resync or verify thread.
 */
final class ChunkComparator {
    private static final AtomicLong REQUEST_IDS = new AtomicLong(1);
    private static final long REPLY_TIMEOUT_SECONDS = 120;

    private final SourceVolume volume;
    private final List<Shipper> shippers;
    private byte[] chunk = new byte[0];

    ChunkComparator(SourceVolume volume, List<Shipper> shippers) {
        this.volume = volume;
        this.shippers = shippers;
    }

    /** The source hashes and every replica's replies for chunks {@code [first, first + count)}. */
    record Comparison(long[] local, List<ChunkHashReply> replies) {
        /** Chunk offsets (0-based within the run) whose hash differs on some replica. */
        BitSet differing() {
            BitSet d = new BitSet(local.length);
            for (ChunkHashReply r : replies) {
                for (int i = 0; i < local.length; i++) {
                    if (r.hashes()[i] != local[i]) {
                        d.set(i);
                    }
                }
            }
            return d;
        }
    }

    /**
     * Compares chunks {@code [first, first + count)} of {@code chunkBytes}. Replicas answer once
     * they applied {@code minApplied}; {@code epoch} names the resync (0 for a verify).
     *
     * @throws IOException when a replica cannot answer (link down, its error)
     */
    Comparison compare(int chunkBytes, long first, int count, long minApplied, long epoch)
            throws IOException, InterruptedException {
        List<CompletableFuture<ChunkHashReply>> pending = new ArrayList<>();
        for (Shipper s : shippers) {
            pending.add(s.requestHashes(new ChunkHashRequest(REQUEST_IDS.getAndIncrement(), epoch, chunkBytes, first,
                    count, minApplied)));
        }
        long[] local = hashSource(chunkBytes, first, count);
        List<ChunkHashReply> replies = new ArrayList<>();
        for (int i = 0; i < pending.size(); i++) {
            ChunkHashReply r = await(pending.get(i), shippers.get(i));
            if (!r.error().isEmpty()) {
                throw new IOException("replica " + shippers.get(i).config().remoteId() + ": " + r.error());
            }
            if (r.hashes().length != count) {
                throw new IOException("replica " + shippers.get(i).config().remoteId() + " hashes: " + r.hashes().length
                        + " (expected: " + count + ")");
            }
            replies.add(r);
        }
        return new Comparison(local, replies);
    }

    /** xxHash64 of each source chunk, read without quiescing (a comparison is a hint; sends re-read). */
    long[] hashSource(int chunkBytes, long first, int count) throws IOException {
        if (chunk.length != chunkBytes) {
            chunk = new byte[chunkBytes];
        }
        long size = volume.sizeBytes();
        long[] hashes = new long[count];
        for (int i = 0; i < count; ) {
            long offset = (first + i) * chunkBytes;
            int holes = HoleRuns.chunksInHole(volume::isHole, offset, chunkBytes, count - i, size);
            for (int end = i + holes; i < end; i++) { // holes read as zeros: neither read nor hashed again
                long at = (first + i) * chunkBytes;
                hashes[i] = ChunkHash.ofZeros((int) Math.min(chunkBytes, size - at));
            }
            if (holes > 0) {
                continue;
            }
            int length = (int) Math.max(0, Math.min(chunkBytes, size - offset));
            if (length > 0) {
                volume.read(offset, ByteBuffer.wrap(chunk, 0, length));
            }
            hashes[i++] = ChunkHash.of(chunk, 0, length);
        }
        return hashes;
    }

    private static ChunkHashReply await(CompletableFuture<ChunkHashReply> f, Shipper s)
            throws IOException, InterruptedException {
        try {
            return f.get(REPLY_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IOException("replica " + s.config().remoteId() + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("replica " + s.config().remoteId() + ": no chunk hashes within "
                    + REPLY_TIMEOUT_SECONDS + " s");
        }
    }
}
