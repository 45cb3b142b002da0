package io.tapline.log.buffer;

import java.io.IOException;

/**
 * A reader asked for a record the buffer no longer holds: every remote had acknowledged it and
 * its segment was deleted. The remote must be resynced instead.
 */
public final class SequenceNotRetainedException extends IOException {
    private static final long serialVersionUID = 1L;

    private final long sequence;
    private final long firstRetained;

    public SequenceNotRetainedException(String volumeId, long sequence, long firstRetained) {
        super("sequence: " + sequence + " (expected: >= " + firstRetained
                + ", the oldest retained record) volume=" + volumeId
                + "; older records were deleted after every remote acknowledged them");
        this.sequence = sequence;
        this.firstRetained = firstRetained;
    }

    public long sequence() {
        return sequence;
    }

    public long firstRetained() {
        return firstRetained;
    }
}
