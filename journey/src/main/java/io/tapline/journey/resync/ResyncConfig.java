package io.tapline.journey.resync;

import java.time.Duration;

/**
 * How a resync compares and how fast it may go.
 *
 * @param chunkBytes          first comparison level: chunks hashed on both sides (default 64 KiB)
 * @param blockBytes          second level inside differing chunks; only differing blocks are sent (default 4 KiB)
 * @param rateBytesPerSecond  bound on the source bytes read per second for comparisons; 0 = unlimited
 * @param ackTimeout          how long to wait for every replica to apply the epoch's RESYNC_BEGIN
 * @param poll                how often the engine looks for work
 * @param copyChunks          send every chunk in an epoch's scope whole instead of comparing it: the
 *                            volume's log goes to replicas that cannot be asked for hashes (Kafka);
 *                            journal mode only ({@link ResyncEngine}, "Copy epochs")
 * @param releaseRemoteAfter  journal mode with several remotes: a remote whose link has been down this
 *                            long, and that alone holds a buffer past high water, is released (a full
 *                            resync when it returns) so that the others go on; zero: never
 *                            ({@code io.tapline.journey.source.LaggingRemoteRelease})
 */
public record ResyncConfig(int chunkBytes, int blockBytes, long rateBytesPerSecond, Duration ackTimeout,
        Duration poll, boolean copyChunks, Duration releaseRemoteAfter) {
    /** {@link #releaseRemoteAfter}'s default: a link down this long is no blip. */
    public static final Duration DEFAULT_RELEASE_REMOTE_AFTER = Duration.ofMinutes(10);

    public static final ResyncConfig DEFAULT = new ResyncConfig(64 << 10, 4 << 10, 0, Duration.ofMinutes(5),
            Duration.ofMillis(500));

    /** A configuration whose epochs compare. */
    public ResyncConfig(int chunkBytes, int blockBytes, long rateBytesPerSecond, Duration ackTimeout, Duration poll) {
        this(chunkBytes, blockBytes, rateBytesPerSecond, ackTimeout, poll, false);
    }

    /** A configuration with the default {@link #releaseRemoteAfter}. */
    public ResyncConfig(int chunkBytes, int blockBytes, long rateBytesPerSecond, Duration ackTimeout, Duration poll,
            boolean copyChunks) {
        this(chunkBytes, blockBytes, rateBytesPerSecond, ackTimeout, poll, copyChunks, DEFAULT_RELEASE_REMOTE_AFTER);
    }

    public ResyncConfig {
        if (releaseRemoteAfter == null || releaseRemoteAfter.isNegative()) {
            throw new IllegalArgumentException("releaseRemoteAfter: " + releaseRemoteAfter + " (expected: >= 0)");
        }
        if (blockBytes < 4096 || Integer.bitCount(blockBytes) != 1) {
            throw new IllegalArgumentException("blockBytes: " + blockBytes + " (expected: a power of two >= 4096)");
        }
        if (chunkBytes < blockBytes || Integer.bitCount(chunkBytes) != 1 || chunkBytes > (1 << 20)) {
            throw new IllegalArgumentException("chunkBytes: " + chunkBytes + " (expected: a power of two in "
                    + blockBytes + "..1048576)");
        }
        if (rateBytesPerSecond < 0) {
            throw new IllegalArgumentException("rateBytesPerSecond: " + rateBytesPerSecond + " (expected: >= 0)");
        }
    }

    /** The same configuration with another rate limit. */
    public ResyncConfig withRate(long bytesPerSecond) {
        return new ResyncConfig(chunkBytes, blockBytes, bytesPerSecond, ackTimeout, poll, copyChunks,
                releaseRemoteAfter);
    }

    /** The same configuration whose epochs copy their chunks whole (see {@link #copyChunks}). */
    public ResyncConfig copyingChunks() {
        return new ResyncConfig(chunkBytes, blockBytes, rateBytesPerSecond, ackTimeout, poll, true,
                releaseRemoteAfter);
    }

    /** The same configuration releasing a lagging remote after {@code after} (zero: never). */
    public ResyncConfig withReleaseRemoteAfter(Duration after) {
        return new ResyncConfig(chunkBytes, blockBytes, rateBytesPerSecond, ackTimeout, poll, copyChunks, after);
    }
}
