package io.tapline.journey.control;

import com.esotericsoftware.kryo.serializers.TaggedFieldSerializer.Tag;

/**
 * Replayer to source: the answer to a {@link ChunkHashRequest}. {@code hashes[i]} is the
 * xxHash64 of chunk {@code firstChunk + i} as of {@code appliedSequence};
 * {@code lastWritten[i]} is the newest sequence known to have changed that chunk (the applied
 * sequence at replayer start when unknown), which lets a verify tell a real difference from a
 * write in flight. {@code error} is non-empty when the request could not be served.
 */
public final class ChunkHashReply implements ControlMessage {
    @Tag(1)
    private long requestId;
    @Tag(2)
    private long appliedSequence;
    @Tag(3)
    private long[] hashes = new long[0];
    @Tag(4)
    private long[] lastWritten = new long[0];
    @Tag(5)
    private String error = "";

    /** For Kryo. */
    ChunkHashReply() {
    }

    public ChunkHashReply(long requestId, long appliedSequence, long[] hashes, long[] lastWritten, String error) {
        this.requestId = requestId;
        this.appliedSequence = appliedSequence;
        this.hashes = hashes;
        this.lastWritten = lastWritten;
        this.error = error == null ? "" : error;
    }

    /** A reply that says why the request failed. */
    public static ChunkHashReply failed(long requestId, String error) {
        return new ChunkHashReply(requestId, 0, new long[0], new long[0], error);
    }

    public long requestId() {
        return requestId;
    }

    public long appliedSequence() {
        return appliedSequence;
    }

    public long[] hashes() {
        return hashes;
    }

    public long[] lastWritten() {
        return lastWritten;
    }

    public String error() {
        return error;
    }

    @Override
    public String toString() {
        return "ChunkHashReply[id=" + requestId + ", applied=" + appliedSequence + ", chunks=" + hashes.length
                + (error.isEmpty() ? "" : ", error=" + error) + "]";
    }
}
