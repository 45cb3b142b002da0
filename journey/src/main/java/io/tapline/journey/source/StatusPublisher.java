package io.tapline.journey.source;

/**
 * Writes what a running {@link SourceSide} knows for other processes ({@code tapline status}
 * reads it): the CLI's {@code link-status.json} and {@code source-status.json}. The source side
 * says when (about once a second, at once when a link changes, and once more after it stopped);
 * the publisher owns the format.
 *
 * <p>Called on the source side's housekeeping thread only, and once on the thread that closes it.
 */
@FunctionalInterface
public interface StatusPublisher {
    /** Publishes {@code side}'s state; {@code running} is false for the last call, after it stopped. */
    void publish(SourceSide side, boolean running);
}
