package io.tapline.journey.control;

import com.esotericsoftware.kryo.serializers.TaggedFieldSerializer.Tag;

/**
 * Source to replayer, right after WELCOME: the generation of the primary that ships (see
 * docs/failover.md). A secondary remembers the newest one it heard, so that a later promotion
 * of it starts a generation above every primary it followed (fencing never sees two primaries
 * of one generation).
 */
public final class SourceGeneration implements ControlMessage {
    @Tag(1)
    private long generation;

    /** For Kryo. */
    SourceGeneration() {
    }

    public SourceGeneration(long generation) {
        if (generation < 1) {
            throw new IllegalArgumentException("generation: " + generation + " (expected: >= 1)");
        }
        this.generation = generation;
    }

    public long generation() {
        return generation;
    }
}
