package io.tapline.journey.shipper;

import io.tapline.journey.JourneyProtocol;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * What a {@link Shipper} ships and where. Immutable; build one with {@link #of} and the
 * {@code with...} methods.
 *
 * @param remote             the replayer's address; its cursor in the buffer is {@link #cursorId()}
 * @param sourceId           stable name of this source, checked by the replayer per volume
 * @param volumeId           the volume shipped (records of other volumes are an error)
 * @param volumeSizeBytes    size of the source volume, bytes
 * @param blockSizeBytes     block size of the source volume, bytes
 * @param maxBatchBytes      a batch is closed before it exceeds this many record bytes (a single
 *                           larger record travels alone); default 4 MiB
 * @param maxInFlightBatches the window's floor (batches sent and not yet acknowledged); the window
 *                           grows to twice the measured bandwidth-delay product; default 4
 * @param minBackoff         first reconnect delay, and the delay between connection attempts that
 *                           find nobody; default 100 ms
 * @param maxBackoff         largest reconnect delay after a lost or refused session (doubling with
 *                           jitter); default 5 s
 * @param handshakeTimeout   bound on HELLO/WELCOME (a TCP connect: at most 1 s); default 10 s
 * @param credential         shared secret sent in HELLO; empty for none
 * @param generation         the source's generation (failover), read at each HELLO (which carries
 *                           it) and about once a second after (a newer one is announced in a
 *                           CONTROL), so the replica learns it; 0 for none
 * @param tls                TLS with mutual authentication for the link; null for plain TCP
 */
public record ShipperConfig(
        InetSocketAddress remote,
        String sourceId,
        String volumeId,
        long volumeSizeBytes,
        int blockSizeBytes,
        int maxBatchBytes,
        int maxInFlightBatches,
        Duration minBackoff,
        Duration maxBackoff,
        Duration handshakeTimeout,
        String credential,
        java.util.function.LongSupplier generation,
        io.tapline.journey.tls.TlsConfig tls) {

    public static final int DEFAULT_MAX_BATCH_BYTES = 4 << 20;
    public static final int DEFAULT_MAX_IN_FLIGHT_BATCHES = 4;
    public static final Duration DEFAULT_MIN_BACKOFF = Duration.ofMillis(100);
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(5);
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    private static final java.util.function.LongSupplier NO_GENERATION = () -> 0;

    public ShipperConfig {
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(sourceId, "sourceId");
        Objects.requireNonNull(volumeId, "volumeId");
        Objects.requireNonNull(minBackoff, "minBackoff");
        Objects.requireNonNull(maxBackoff, "maxBackoff");
        Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
        Objects.requireNonNull(credential, "credential");
        Objects.requireNonNull(generation, "generation");
        if (volumeId.isEmpty()) {
            throw new IllegalArgumentException("volumeId: \"\" (expected: 1..255 UTF-8 bytes)");
        }
        if (volumeSizeBytes <= 0) {
            throw new IllegalArgumentException("volumeSizeBytes: " + volumeSizeBytes + " (expected: > 0)");
        }
        if (blockSizeBytes <= 0) {
            throw new IllegalArgumentException("blockSizeBytes: " + blockSizeBytes + " (expected: > 0)");
        }
        int maxBatch = JourneyProtocol.DEFAULT_MAX_FRAME_BYTES - JourneyProtocol.BATCH_HEADER_BYTES - 1;
        if (maxBatchBytes < 1 || maxBatchBytes > maxBatch) {
            throw new IllegalArgumentException("maxBatchBytes: " + maxBatchBytes + " (expected: 1.." + maxBatch + ")");
        }
        if (maxInFlightBatches < 1) {
            throw new IllegalArgumentException("maxInFlightBatches: " + maxInFlightBatches + " (expected: >= 1)");
        }
        if (minBackoff.isNegative() || minBackoff.isZero()) {
            throw new IllegalArgumentException("minBackoff: " + minBackoff + " (expected: > 0)");
        }
        if (maxBackoff.compareTo(minBackoff) < 0) {
            throw new IllegalArgumentException("maxBackoff: " + maxBackoff + " (expected: >= minBackoff " + minBackoff + ")");
        }
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("handshakeTimeout: " + handshakeTimeout + " (expected: > 0)");
        }
    }

    /** A configuration with every optional key at its default. */
    public static ShipperConfig of(InetSocketAddress remote, String sourceId, String volumeId, long volumeSizeBytes,
            int blockSizeBytes) {
        return new ShipperConfig(remote, sourceId, volumeId, volumeSizeBytes, blockSizeBytes, DEFAULT_MAX_BATCH_BYTES,
                DEFAULT_MAX_IN_FLIGHT_BATCHES, DEFAULT_MIN_BACKOFF, DEFAULT_MAX_BACKOFF, DEFAULT_HANDSHAKE_TIMEOUT, "", NO_GENERATION, null);
    }

    public ShipperConfig withMaxBatchBytes(int bytes) {
        return new ShipperConfig(remote, sourceId, volumeId, volumeSizeBytes, blockSizeBytes, bytes,
                maxInFlightBatches, minBackoff, maxBackoff, handshakeTimeout, credential, generation, tls);
    }

    public ShipperConfig withMaxInFlightBatches(int batches) {
        return new ShipperConfig(remote, sourceId, volumeId, volumeSizeBytes, blockSizeBytes, maxBatchBytes,
                batches, minBackoff, maxBackoff, handshakeTimeout, credential, generation, tls);
    }

    public ShipperConfig withBackoff(Duration min, Duration max) {
        return new ShipperConfig(remote, sourceId, volumeId, volumeSizeBytes, blockSizeBytes, maxBatchBytes,
                maxInFlightBatches, min, max, handshakeTimeout, credential, generation, tls);
    }

    public ShipperConfig withHandshakeTimeout(Duration timeout) {
        return new ShipperConfig(remote, sourceId, volumeId, volumeSizeBytes, blockSizeBytes, maxBatchBytes,
                maxInFlightBatches, minBackoff, maxBackoff, timeout, credential, generation, tls);
    }

    public ShipperConfig withCredential(String secret) {
        return new ShipperConfig(remote, sourceId, volumeId, volumeSizeBytes, blockSizeBytes, maxBatchBytes,
                maxInFlightBatches, minBackoff, maxBackoff, handshakeTimeout, secret, generation, tls);
    }

    /** A fixed generation ({@code g} 0: none). */
    public ShipperConfig withGeneration(long g) {
        if (g < 0) {
            throw new IllegalArgumentException("generation: " + g + " (expected: >= 0)");
        }
        return withGeneration(() -> g);
    }

    /**
     * A generation that may grow while the shipper runs (a cascade hop announces the one its node
     * follows now); read at each HELLO and about once a second, so it must be cheap.
     */
    public ShipperConfig withGeneration(java.util.function.LongSupplier g) {
        return new ShipperConfig(remote, sourceId, volumeId, volumeSizeBytes, blockSizeBytes, maxBatchBytes,
                maxInFlightBatches, minBackoff, maxBackoff, handshakeTimeout, credential, g, tls);
    }

    public ShipperConfig withTls(io.tapline.journey.tls.TlsConfig t) {
        return new ShipperConfig(remote, sourceId, volumeId, volumeSizeBytes, blockSizeBytes, maxBatchBytes,
                maxInFlightBatches, minBackoff, maxBackoff, handshakeTimeout, credential, generation, t);
    }

    /** The replayer as {@code host:port}, for status and logs. */
    public String remoteId() {
        return remote.getHostString() + ":" + remote.getPort();
    }

    /**
     * The name of this remote's cursor in the capture buffer: {@link #remoteId()} with every
     * character outside {@code A-Z a-z 0-9 . _ -} replaced by {@code _} ({@code 10.0.0.2:7070}
     * becomes {@code 10.0.0.2_7070}), because the buffer names files after it; names longer
     * than 64 characters keep 55 and end with {@code -} and 8 hex digits of a hash of the whole.
     */
    public String cursorId() {
        return cursorIdOf(remoteId());
    }

    /** The buffer cursor's name of the remote {@code host:port} (as {@link #cursorId} names it). */
    public static String cursorIdOf(String remoteId) {
        String id = remoteId.replaceAll("[^A-Za-z0-9._-]", "_");
        if (id.startsWith(".")) {
            id = "_" + id.substring(1);
        }
        if (id.length() > 64) {
            id = id.substring(0, 55) + "-" + String.format("%08x", remoteId.hashCode());
        }
        return id;
    }

    @Override
    public String toString() {
        return "ShipperConfig[remote=" + remoteId() + ", sourceId=" + sourceId + ", volumeId=" + volumeId
                + ", volumeSizeBytes=" + volumeSizeBytes + ", blockSizeBytes=" + blockSizeBytes + ", maxBatchBytes="
                + maxBatchBytes + ", maxInFlightBatches=" + maxInFlightBatches + ", backoff=" + minBackoff + ".."
                + maxBackoff + ", handshakeTimeout=" + handshakeTimeout + ", credential="
                + (credential.isEmpty() ? "none" : "***") + "]";
    }
}
