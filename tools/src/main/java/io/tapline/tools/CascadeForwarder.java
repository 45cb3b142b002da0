package io.tapline.tools;

import io.tapline.log.CaptureRecord;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.ChangedChunks.WholeVolumeCause;
import io.tapline.replay.ApplyObserver;
import io.tapline.replay.ReplayServer;
import io.tapline.replay.VolumeRole;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replayer node that forwards its replicas ({@code tapline replay --forward C:7070}): the hop
 * B → C of a cascade A → B → C, with its own buffer, cursor and state. Every group B applies is
 * appended, on B's apply thread and before B acknowledges it to A, to the volume's forward buffer
 * {@code <data>/<volume>/forward/<volume>/} (records renumbered in the hop's own sequence), which
 * ships to C. What B cannot pass on record by record is tracked as changed chunks and resynced
 * from B's replica by checksums: a GAP's range, and the whole volume for an upstream resync epoch
 * (B is inconsistent meanwhile; C follows it and is compared again). A crash or power cut of B
 * leaves the forward buffer unclean, which also tracks the whole volume.
 */
final class CascadeForwarder implements ApplyObserver, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CascadeForwarder.class);
    /** Under a volume's directory: the forward buffer directory. */
    static final String FORWARD_BUFFER = "forward";

    private final Path dataDir;
    private final List<InetSocketAddress> targets;
    private final BufferConfig bufferConfig;
    private final String sourceId;
    private final String credential;
    private final io.tapline.journey.tls.TlsConfig tls;
    private final Map<String, SourceNode> hops = new ConcurrentHashMap<>();
    private volatile ReplayServer server;

    CascadeForwarder(Path dataDir, List<InetSocketAddress> targets, BufferConfig bufferConfig, String sourceId,
            String credential, io.tapline.journey.tls.TlsConfig tls) {
        this.tls = tls;
        this.dataDir = dataDir;
        this.targets = List.copyOf(targets);
        this.bufferConfig = bufferConfig;
        this.sourceId = sourceId;
        this.credential = credential;
    }

    /** The replayer whose apply threads the hops' resyncs run on; opens a hop for every replica it holds. */
    void attach(ReplayServer replayer) throws IOException {
        this.server = replayer;
        for (String volumeId : ReplayServer.volumeIds(dataDir)) {
            hop(volumeId);
        }
    }

    private SourceNode hop(String volumeId) throws IOException {
        SourceNode hop = hops.get(volumeId);
        if (hop != null) {
            return hop;
        }
        synchronized (this) {
            hop = hops.get(volumeId);
            if (hop == null) {
                Path dir = dataDir.resolve(volumeId);
                long size = ReplayServer.volumeSizeBytes(dataDir, volumeId);
                ReplicaSourceVolume replica = new ReplicaSourceVolume(this::onApplyThread, volumeId,
                        ReplayServer.replicaImage(dir), size);
                SourceNode.Settings s = new SourceNode.Settings(null, volumeId, null, size, dir.resolve(FORWARD_BUFFER),
                        bufferConfig, targets, sourceId, credential, io.tapline.journey.resync.ResyncConfig.DEFAULT,
                        null, java.util.function.UnaryOperator.identity(), followedGeneration(dir), tls);
                hop = SourceNode.forwarding(s, replica);
                hops.put(volumeId, hop);
                LOG.info("forwarding volume={} to {}", volumeId, targets);
            }
            return hop;
        }
    }

    /**
     * The generation this node's replica of a volume follows now, read from its role file (it
     * grows when the upstream primary is promoted, or when this node is): the hop announces it to
     * the next hop, so a promotion there starts above every primary of the chain. A role file that
     * cannot be read keeps the last value read.
     */
    private static java.util.function.LongSupplier followedGeneration(Path dir) throws IOException {
        java.util.concurrent.atomic.AtomicLong last = new java.util.concurrent.atomic.AtomicLong(
                VolumeRole.read(dir).generation());
        return () -> {
            try {
                long now = VolumeRole.read(dir).generation();
                return last.accumulateAndGet(now, Math::max);
            } catch (IOException e) {
                LOG.warn("volume dir={} role not read, announcing generation {}: {}", dir, last.get(), e.getMessage());
                return last.get();
            }
        };
    }

    /**
     * The changed chunks of {@code volumeId}'s forward hop, or null when it cannot be opened: a
     * volume promoted on this node marks its host's writes there, and the hop's resync carries them
     * to the next hop (no records flow while the volume is primary here).
     */
    io.tapline.log.buffer.ChangedChunks changesOf(String volumeId) {
        try {
            return hop(volumeId).buffer().changedChunks();
        } catch (IOException | RuntimeException e) {
            LOG.error("volume={} forward hop not opened: the next hop does not follow this node's writes as primary"
                    + " ({})", volumeId, e.toString());
            return null;
        }
    }

    private <T> T onApplyThread(String volumeId, java.util.concurrent.Callable<T> action)
            throws IOException, InterruptedException {
        ReplayServer s = server;
        if (s == null) {
            throw new IOException("forwarder for volume " + volumeId + " not attached to its replayer yet");
        }
        return s.onApplyThread(volumeId, action);
    }

    @Override
    public void applied(String volumeId, List<CaptureRecord> records) {
        CaptureBuffer buffer = null;
        try {
            buffer = hop(volumeId).buffer();
            for (CaptureRecord r : records) {
                switch (r.kind()) {
                    case WRITE, WRITE_ZEROES, DISCARD, FLUSH, MARK -> buffer.append(r.kind(), r.offsetBytes(),
                            r.lengthBytes(), r.flags(), r.provenance(), r.payload());
                    case GAP -> buffer.changedChunks().mark(r.offsetBytes(), r.lengthBytes());
                    case RESYNC_BEGIN -> buffer.changedChunks().markAll(WholeVolumeCause.UPSTREAM_RESYNC);
                    default -> { } // RESYNC_END: the whole volume is tracked since its BEGIN
                }
            }
            buffer.sync();
        } catch (IOException | RuntimeException e) {
            LOG.error("volume={} forwarding failed, the next hop will be resynced: {}", volumeId, e.toString());
            if (buffer != null) {
                try {
                    buffer.changedChunks().markAll(WholeVolumeCause.FORWARD_FAILED);
                } catch (IOException again) {
                    LOG.error("volume={} forward buffer cannot track the change either: {}", volumeId, again.toString());
                }
            }
        }
    }

    @Override
    public void close() {
        for (SourceNode hop : hops.values()) {
            hop.close();
        }
        hops.clear();
    }
}
