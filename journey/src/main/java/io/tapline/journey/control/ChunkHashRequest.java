package io.tapline.journey.control;

import com.esotericsoftware.kryo.serializers.TaggedFieldSerializer.Tag;

/**
 * Source to replayer: hash {@code count} chunks of {@code chunkBytes} starting at chunk
 * {@code firstChunk} of the replica (xxHash64 of each chunk's bytes; the last chunk may be
 * short). Answered with a {@link ChunkHashReply} of the same {@code requestId}, computed on the
 * volume's apply thread once every record up to {@code minAppliedSequence} is applied, so the
 * hashes describe the replica at one applied sequence.
 */
public final class ChunkHashRequest implements ControlMessage {
    /** Most chunks one request may ask for. */
    public static final int MAX_CHUNKS = 4096;

    @Tag(1)
    private long requestId;
    @Tag(2)
    private long resyncId;
    @Tag(3)
    private int chunkBytes;
    @Tag(4)
    private long firstChunk;
    @Tag(5)
    private int count;
    @Tag(6)
    private long minAppliedSequence;

    /** For Kryo. */
    ChunkHashRequest() {
    }

    public ChunkHashRequest(long requestId, long resyncId, int chunkBytes, long firstChunk, int count,
            long minAppliedSequence) {
        this.requestId = requestId;
        this.resyncId = resyncId;
        this.chunkBytes = chunkBytes;
        this.firstChunk = firstChunk;
        this.count = count;
        this.minAppliedSequence = minAppliedSequence;
        String problem = problem();
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /** What is wrong with a decoded request, or null. */
    public String problem() {
        if (chunkBytes < 4096 || Integer.bitCount(chunkBytes) != 1 || chunkBytes > (16 << 20)) {
            return "chunkBytes: " + chunkBytes + " (expected: a power of two in 4096..16777216)";
        }
        if (count < 1 || count > MAX_CHUNKS) {
            return "count: " + count + " (expected: 1.." + MAX_CHUNKS + ")";
        }
        if (firstChunk < 0) {
            return "firstChunk: " + firstChunk + " (expected: >= 0)";
        }
        return null;
    }

    public long requestId() {
        return requestId;
    }

    /** The resync epoch this comparison belongs to; 0 for an online verify. */
    public long resyncId() {
        return resyncId;
    }

    public int chunkBytes() {
        return chunkBytes;
    }

    public long firstChunk() {
        return firstChunk;
    }

    public int count() {
        return count;
    }

    public long minAppliedSequence() {
        return minAppliedSequence;
    }

    @Override
    public String toString() {
        return "ChunkHashRequest[id=" + requestId + ", chunks=" + firstChunk + "+" + count + " x " + chunkBytes
                + ", minApplied=" + minAppliedSequence + (resyncId == 0 ? "" : ", resync=" + Long.toHexString(resyncId))
                + "]";
    }
}
