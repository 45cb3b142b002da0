package io.tapline.journey.control;

import com.esotericsoftware.kryo.serializers.TaggedFieldSerializer.Tag;

/**
 * Source to replayer: the replica's record at {@code atSequence} is not this source's (its CRC
 * differs from the source's record of that sequence: someone else wrote it, e.g. a forged or
 * mistaken source while this one was down). The replayer marks the replica out of sync with no
 * consistent point (audited), so the source's next resync compares the whole volume.
 */
public final class SourceDiverged implements ControlMessage {
    @Tag(1)
    private long atSequence;
    @Tag(2)
    private String reason = "";

    /** For Kryo. */
    SourceDiverged() {
    }

    public SourceDiverged(long atSequence, String reason) {
        this.atSequence = atSequence;
        this.reason = reason == null ? "" : reason;
    }

    public long atSequence() {
        return atSequence;
    }

    public String reason() {
        return reason;
    }
}
