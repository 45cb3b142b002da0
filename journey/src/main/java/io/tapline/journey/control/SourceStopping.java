package io.tapline.journey.control;

import com.esotericsoftware.kryo.serializers.TaggedFieldSerializer.Tag;

/**
 * Source to replayer, once, as a wedge's shipper stops cleanly (SIGTERM, a demotion): the last
 * sequence it captured, and how many of its changes no record carries (cycle mode's blocks not yet
 * copied, chunks tracked for a resync). Sent after every batch of the session, so a replayer that
 * receives it holds every batch before it; a stop that cuts the link first (a slow line's queue, a
 * kill, a lost host) sends none. A promotion without {@code --force} requires it: a replica can
 * call itself the whole of its source only when the source said so as it stopped (probe s62 AE
 * D1, D2: a source stopped behind its replica was promoted as "planned, nothing lost").
 *
 * <p>Registered as id 18: a replayer older than it cannot decode it and ends the session with a
 * protocol error, which the stop ends anyway.
 */
public final class SourceStopping implements ControlMessage {
    @Tag(1)
    private long capturedSequence;
    @Tag(2)
    private long unshippedChanges;
    @Tag(3)
    private long atMillis;

    /** For Kryo. */
    SourceStopping() {
    }

    public SourceStopping(long capturedSequence, long unshippedChanges, long atMillis) {
        if (capturedSequence < 0 || unshippedChanges < 0) {
            throw new IllegalArgumentException("capturedSequence " + capturedSequence + ", unshippedChanges "
                    + unshippedChanges + " (expected: >= 0)");
        }
        this.capturedSequence = capturedSequence;
        this.unshippedChanges = unshippedChanges;
        this.atMillis = atMillis;
    }

    /** The last sequence the source captured. */
    public long capturedSequence() {
        return capturedSequence;
    }

    /** Changes of the source no record carries: cycle mode's uncopied blocks, tracked chunks; 0 when none. */
    public long unshippedChanges() {
        return unshippedChanges;
    }

    /** When the source stopped, by its clock. */
    public long atMillis() {
        return atMillis;
    }
}
