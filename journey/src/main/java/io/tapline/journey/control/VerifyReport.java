package io.tapline.journey.control;

import com.esotericsoftware.kryo.serializers.TaggedFieldSerializer.Tag;
import java.util.ArrayList;
import java.util.List;

/**
 * Source to replayer, and the CLI's result: what an online verify found. Each differing range
 * was confirmed at a sequence both sides had applied (no write in flight can cause it). The
 * replayer audits the report and, when ranges differ, marks the replica out of sync from
 * {@code atSequence} (a resync then heals it).
 */
public final class VerifyReport implements ControlMessage {
    @Tag(1)
    private String actor = "";
    @Tag(2)
    private long atSequence;
    @Tag(3)
    private long bytesCompared;
    @Tag(4)
    private long[] offsets = new long[0];
    @Tag(5)
    private long[] lengths = new long[0];
    @Tag(6)
    private long unverifiedChunks;
    @Tag(7)
    private long durationMillis;
    @Tag(8)
    private long recheckedChunks;

    /** For Kryo. */
    VerifyReport() {
    }

    public VerifyReport(String actor, long atSequence, long bytesCompared, long[] offsets, long[] lengths,
            long unverifiedChunks, long durationMillis, long recheckedChunks) {
        if (offsets.length != lengths.length) {
            throw new IllegalArgumentException("lengths: " + lengths.length + " (expected: " + offsets.length
                    + ", one per offset)");
        }
        this.actor = actor;
        this.atSequence = atSequence;
        this.bytesCompared = bytesCompared;
        this.offsets = offsets;
        this.lengths = lengths;
        this.unverifiedChunks = unverifiedChunks;
        this.durationMillis = durationMillis;
        this.recheckedChunks = recheckedChunks;
    }

    /** Chunks whose first comparison differed and were re-checked at a common sequence. */
    public long recheckedChunks() {
        return recheckedChunks;
    }

    /** Who asked (user@host). */
    public String actor() {
        return actor;
    }

    /** The newest sequence the comparisons were confirmed at. */
    public long atSequence() {
        return atSequence;
    }

    public long bytesCompared() {
        return bytesCompared;
    }

    /** Differing ranges, offsets ascending. */
    public List<long[]> ranges() {
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < offsets.length; i++) {
            out.add(new long[] {offsets[i], lengths[i]});
        }
        return out;
    }

    /** Bytes in differing ranges. */
    public long differingBytes() {
        long n = 0;
        for (long l : lengths) {
            n += l;
        }
        return n;
    }

    /** Chunks still being written every time they were re-checked: neither equal nor proven different. */
    public long unverifiedChunks() {
        return unverifiedChunks;
    }

    public long durationMillis() {
        return durationMillis;
    }

    /** One line for logs and the audit detail. */
    public String summary() {
        StringBuilder sb = new StringBuilder("verify by " + actor + " at seq " + atSequence + ": compared "
                + bytesCompared + " bytes, re-checked " + recheckedChunks + " chunks, " + offsets.length + " differing ranges (" + differingBytes() + " bytes)");
        for (int i = 0; i < Math.min(offsets.length, 16); i++) {
            sb.append(i == 0 ? ": " : ", ").append(offsets[i]).append('+').append(lengths[i]);
        }
        if (offsets.length > 16) {
            sb.append(", ...");
        }
        if (unverifiedChunks > 0) {
            sb.append("; ").append(unverifiedChunks).append(" chunks busy, not verified");
        }
        return sb.toString();
    }
}
