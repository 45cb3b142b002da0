package io.tapline.wedge.server;

import io.tapline.wedge.capture.CaptureSink;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Configuration of a {@link WedgeServer}. Immutable. See {@code wedge/README.md} for every key.
 *
 * @param listenAddress          where the NBD server listens (port 0: an ephemeral port); ignored
 *                               on a shared {@link NbdEndpoint}
 * @param exportName             the one export served (1..4096 UTF-8 bytes); clients asking for
 *                               the empty name get it too, as the default export, while it is
 *                               the only export of its endpoint
 * @param volumePath             primary volume image; created sparse when missing
 * @param volumeSizeBytes        size of the primary volume; an existing file must have it
 * @param captureSink            an open sink the caller owns (and closes after {@link WedgeServer#close()})
 * @param ioThreads              Netty event-loop threads; 0 means Netty's default (2 x cores);
 *                               ignored on a shared {@link NbdEndpoint}
 * @param readThreads            threads serving READ from the primary (default 4)
 * @param maxInFlightBytesPerConnection a connection stops reading new requests while the WRITE
 *                               payloads it has in flight exceed this (default 64 MiB)
 * @param shutdownTimeout        how long {@code close()} waits for in-flight requests, and
 *                               {@code standby()} for their answers (default 30 s)
 * @param handshakeTimeout       a client that has not finished negotiating within this is
 *                               disconnected, so idle or stalled handshakes cannot pile up (default 30 s);
 *                               ignored on a shared {@link NbdEndpoint} (which uses the default)
 */
public record WedgeConfig(
        InetSocketAddress listenAddress,
        String exportName,
        Path volumePath,
        long volumeSizeBytes,
        CaptureSink captureSink,
        int ioThreads,
        int readThreads,
        long maxInFlightBytesPerConnection,
        Duration shutdownTimeout,
        Duration handshakeTimeout) {

    public static final int DEFAULT_READ_THREADS = 4;
    public static final long DEFAULT_MAX_IN_FLIGHT_BYTES = 64L << 20;
    public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(30);

    public WedgeConfig {
        Objects.requireNonNull(listenAddress, "listenAddress");
        Objects.requireNonNull(volumePath, "volumePath");
        Objects.requireNonNull(captureSink, "captureSink");
        Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
        Export.requireName("exportName", exportName);
        if (volumeSizeBytes <= 0) {
            throw new IllegalArgumentException("volumeSizeBytes: " + volumeSizeBytes + " (expected: > 0)");
        }
        if (ioThreads < 0) {
            throw new IllegalArgumentException("ioThreads: " + ioThreads + " (expected: >= 0)");
        }
        if (readThreads < 1) {
            throw new IllegalArgumentException("readThreads: " + readThreads + " (expected: >= 1)");
        }
        if (maxInFlightBytesPerConnection < 1) {
            throw new IllegalArgumentException(
                    "maxInFlightBytesPerConnection: " + maxInFlightBytesPerConnection + " (expected: >= 1)");
        }
        Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("handshakeTimeout: " + handshakeTimeout + " (expected: > 0)");
        }
        if (shutdownTimeout.isNegative()) {
            throw new IllegalArgumentException("shutdownTimeout: " + shutdownTimeout + " (expected: >= 0)");
        }
    }

    /** A configuration with the defaults for everything but the five required settings. */
    public static WedgeConfig of(InetSocketAddress listenAddress, String exportName, Path volumePath,
            long volumeSizeBytes, CaptureSink captureSink) {
        return new WedgeConfig(listenAddress, exportName, volumePath, volumeSizeBytes, captureSink, 0,
                DEFAULT_READ_THREADS, DEFAULT_MAX_IN_FLIGHT_BYTES, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT);
    }

    /** The same configuration with another handshake time-out. */
    public WedgeConfig withHandshakeTimeout(Duration timeout) {
        return new WedgeConfig(listenAddress, exportName, volumePath, volumeSizeBytes, captureSink, ioThreads,
                readThreads, maxInFlightBytesPerConnection, shutdownTimeout, timeout);
    }
}
