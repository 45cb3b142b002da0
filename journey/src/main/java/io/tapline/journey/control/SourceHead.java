package io.tapline.journey.control;

import com.esotericsoftware.kryo.serializers.TaggedFieldSerializer.Tag;

/**
 * Source to replayer, about once a second while a link is up: the newest sequence the source has
 * captured, and when. A replayer remembers the last one, so that a forced promotion (the source
 * lost) can say how many records at least never arrived.
 */
public final class SourceHead implements ControlMessage {
    @Tag(1)
    private long capturedSequence;
    @Tag(2)
    private long atMillis;

    /** For Kryo. */
    SourceHead() {
    }

    public SourceHead(long capturedSequence, long atMillis) {
        if (capturedSequence < 0) {
            throw new IllegalArgumentException("capturedSequence: " + capturedSequence + " (expected: >= 0)");
        }
        this.capturedSequence = capturedSequence;
        this.atMillis = atMillis;
    }

    public long capturedSequence() {
        return capturedSequence;
    }

    public long atMillis() {
        return atMillis;
    }
}
