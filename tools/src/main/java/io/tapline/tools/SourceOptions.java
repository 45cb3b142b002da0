package io.tapline.tools;

import io.tapline.log.buffer.BufferConfig;
import io.tapline.tools.cli.ByteSizeConverter;
import io.tapline.tools.cli.CliFailure;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The options every capturing command shares (wedge, snoop): buffer sizing, the remotes to ship
 * to and the source's identity. A picocli mixin, so both commands spell and check them alike.
 */
final class SourceOptions {
    @Option(names = "--buffer-max", paramLabel = "SIZE", converter = ByteSizeConverter.class, defaultValue = "4G",
            description = "Largest buffer per volume before it is FULL (default: ${DEFAULT-VALUE}); the high-water mark is 80 %% of it.")
    long bufferMax;

    @Option(names = "--segment-size", paramLabel = "SIZE", converter = ByteSizeConverter.class, defaultValue = "64M",
            description = "Buffer segment file size (default: ${DEFAULT-VALUE}).")
    long segmentSize;

    @Option(names = "--remote", converter = io.tapline.tools.cli.SocketAddressConverter.Peer.class, paramLabel = "HOST:PORT", description = "A replayer to ship to (repeatable; none: capture only).")
    List<InetSocketAddress> remotes = new ArrayList<>();

    @Option(names = "--source-id", paramLabel = "ID", description = "This source's id in the handshake (default: host name).")
    String sourceId;

    @picocli.CommandLine.Mixin
    TlsOptions tls;

    /**
     * The buffer sizing; refuses a segment larger than the buffer, and a remote named twice (two
     * shippers would fight over one replica's single session), exit 2.
     */
    BufferConfig bufferConfig() {
        java.util.Set<InetSocketAddress> seen = new java.util.HashSet<>();
        for (InetSocketAddress r : remotes) {
            if (!seen.add(r)) {
                throw new CliFailure("--remote: " + ReplicationAddresses.hostPort(r) + " given twice (expected: each"
                        + " replayer once)", 2);
            }
        }
        if (segmentSize > bufferMax) {
            throw new CliFailure("--segment-size: " + segmentSize + " (expected: <= --buffer-max " + bufferMax + ")", 2);
        }
        try {
            return BufferConfig.ofMaxBytes(segmentSize, bufferMax);
        } catch (IllegalArgumentException e) {
            throw new CliFailure("--segment-size/--buffer-max: " + segmentSize + "/" + bufferMax + " ("
                    + e.getMessage().replaceFirst("^[^(]*\\(", "").replaceFirst("\\)$", "") + ")", 2);
        }
    }

    /** The configured source id, or the host name. */
    String sourceId() throws UnknownHostException {
        return sourceId != null ? sourceId : InetAddress.getLocalHost().getHostName();
    }
}
