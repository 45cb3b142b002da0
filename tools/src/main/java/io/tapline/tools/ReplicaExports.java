package io.tapline.tools;

import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.ChangedChunks;
import io.tapline.replay.ReplayServer;
import io.tapline.replay.RoleListener;
import io.tapline.replay.VolumeRole;
import io.tapline.tools.cli.SocketAddressConverter;
import io.tapline.wedge.server.NbdEndpoint;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host-facing side of a replayer node ({@code tapline replay --nbd}): every replica is an
 * NBD export on one endpoint. A secondary's export is a hot standby (size visible, data
 * commands refused with EPERM until promoted); a promoted volume is served read-write by a
 * wedge over its replica image, capturing into {@code <volume>/primary/} and shipping to the
 * peers named at promotion, while {@code <volume>/primary-written/} records each chunk it wrote.
 *
 * <p>New replicas appear as sources create them: the data directory is scanned every second.
 * Role changes arrive from the replayer ({@link RoleListener}) on the volume's apply thread.
 */
final class ReplicaExports implements RoleListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaExports.class);
    /** Under a promoted volume's directory: its capture buffer directory. */
    static final String PRIMARY_BUFFER = "primary";
    /** Under a promoted volume's directory: the chunks written while primary. */
    static final String PRIMARY_WRITTEN = "primary-written";

    /** How a promoted volume captures and ships. */
    record PrimarySettings(BufferConfig bufferConfig, String sourceId, String credential) {
    }

    private final NbdEndpoint endpoint;
    private final Path dataDir;
    private final PrimarySettings primarySettings;
    private final Set<String> standby = ConcurrentHashMap.newKeySet();
    private final Map<String, Primary> primaries = new ConcurrentHashMap<>();
    private final ScheduledExecutorService scanner;

    /** A promoted volume being served: its wedge node and the bitmap of what it wrote. */
    private record Primary(SourceNode node, ChangedChunks written) {
    }

    private ReplicaExports(NbdEndpoint endpoint, Path dataDir, PrimarySettings primarySettings) {
        this.endpoint = endpoint;
        this.dataDir = dataDir;
        this.primarySettings = primarySettings;
        this.scanner = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "replica-exports-scan");
            t.setDaemon(true);
            return t;
        });
    }

    /** Exports for the volumes of {@code dataDir}; nothing is served before {@link #startServing}. */
    static ReplicaExports create(NbdEndpoint endpoint, Path dataDir, PrimarySettings settings) {
        return new ReplicaExports(endpoint, dataDir, settings);
    }

    /** Serves every volume of the data directory as it is now, then keeps watching for new ones. */
    void startServing() throws IOException {
        scan();
        scanner.scheduleWithFixedDelay(this::scanQuietly, 1, 1, TimeUnit.SECONDS);
    }

    InetSocketAddress address() {
        return endpoint.boundAddress();
    }

    private void scanQuietly() {
        try {
            scan();
        } catch (IOException | RuntimeException e) {
            LOG.warn("replica exports: scan of {} failed: {}", dataDir, e.toString());
        }
    }

    /** Serves new volumes as standbys, and promoted ones whose serving failed or is not started yet. */
    private void scan() throws IOException {
        for (String volumeId : ReplayServer.volumeIds(dataDir)) {
            if (primaries.containsKey(volumeId)) {
                continue;
            }
            Path dir = dataDir.resolve(volumeId);
            VolumeRole role = VolumeRole.read(dir);
            long size = ReplayServer.volumeSizeBytes(dataDir, volumeId);
            if (role.primary()) {
                promoted(volumeId, dir, role, size);
            } else if (!standby.contains(volumeId)) {
                serveStandby(volumeId, role, size);
            }
        }
    }

    private void serveStandby(String volumeId, VolumeRole role, long sizeBytes) {
        endpoint.serveStandby(volumeId, sizeBytes, "volume " + volumeId + " is a secondary (generation "
                + role.generation() + "): a hot standby until promoted (tapline promote)");
        standby.add(volumeId);
        LOG.info("standby export volume={} sizeBytes={} generation={}", volumeId, sizeBytes, role.generation());
    }

    @Override
    public synchronized void promoted(String volumeId, Path volumeDir, VolumeRole role, long sizeBytes)
            throws IOException {
        if (primaries.containsKey(volumeId)) {
            return;
        }
        ChangedChunks written = ChangedChunks.open(Files.createDirectories(volumeDir.resolve(PRIMARY_WRITTEN)),
                ChangedChunks.DEFAULT_CHUNK_BYTES);
        SourceNode node;
        try {
            SourceNode.Settings s = new SourceNode.Settings(endpoint.boundAddress(), volumeId, ReplayServer.replicaImage(volumeDir),
                    sizeBytes, volumeDir.resolve(PRIMARY_BUFFER), primarySettings.bufferConfig(), peers(role),
                    primarySettings.sourceId(), primarySettings.credential(),
                    io.tapline.journey.resync.ResyncConfig.DEFAULT, endpoint, sink -> new WrittenChunksSink(sink, written));
            node = SourceNode.start(s);
        } catch (IOException | RuntimeException e) {
            written.close();
            throw e;
        }
        standby.remove(volumeId);
        primaries.put(volumeId, new Primary(node, written));
        LOG.warn("volume={} served read-write as primary generation={} peers={}", volumeId, role.generation(),
                role.peers().isEmpty() ? "none" : role.peers());
    }

    private static List<InetSocketAddress> peers(VolumeRole role) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (String p : role.peers().split(",")) {
            if (!p.isBlank()) {
                out.add(SocketAddressConverter.parse(p.trim()));
            }
        }
        return out;
    }

    @Override
    public synchronized String demoting(String volumeId, Path volumeDir, VolumeRole role) throws IOException {
        Primary p = primaries.remove(volumeId);
        if (p != null) {
            p.node().close(); // drains the host's in-flight writes, then stops serving read-write
            p.written().close();
        }
        long sizeBytes = ReplayServer.volumeSizeBytes(dataDir, volumeId);
        Path writtenDir = volumeDir.resolve(PRIMARY_WRITTEN);
        List<long[]> ranges = ChangedChunks.readRanges(writtenDir, Integer.MAX_VALUE);
        String kept;
        if (ranges.isEmpty()) {
            kept = "nothing (no chunk was written)";
        } else {
            Path image = volumeDir.resolve("discarded-" + role.generation() + ".img");
            long bytes = DiscardedImage.write(ReplayServer.replicaImage(volumeDir), sizeBytes, ranges, image);
            kept = bytes + " bytes in " + ranges.size() + " ranges kept in " + image;
        }
        deleteTree(writtenDir);
        deleteTree(volumeDir.resolve(PRIMARY_BUFFER));
        serveStandby(volumeId, role, sizeBytes);
        return kept;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> tree = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) tree.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Override
    public synchronized void close() {
        scanner.shutdownNow();
        for (Primary p : primaries.values()) {
            p.node().close();
            try {
                p.written().close();
            } catch (IOException e) {
                LOG.warn("written-chunk bitmap not closed: {}", e.toString());
            }
        }
        primaries.clear();
    }
}
