package io.tapline.journey.source;

/**
 * Writes what a running {@link SourceSide} knows for other processes ({@code tapline status}
 * reads it): the CLI's {@code link-status.json} and {@code source-status.json}. The source side
 * says when (about once a second, at once when a link changes, and once more after it stopped);
 * the publisher owns the format.
 *
 * <p>Called on the source side's housekeeping thread, once on the thread that closes it, and
 * through {@link #publishForHost} on a host's write path.
 */
@FunctionalInterface
public interface StatusPublisher {
    /** Publishes {@code side}'s state; {@code running} is false for the last call, after it stopped. */
    void publish(SourceSide side, boolean running);

    /**
     * Publishes {@code side}'s running state on a host's write path ({@link SourceSide#publishNow}):
     * what other processes read, nothing that may wait on a disk beyond it. The default publishes.
     */
    default void publishForHost(SourceSide side) {
        publish(side, true);
    }
}
