package io.tapline.tools;

import io.tapline.log.DurableFiles;
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
    record PrimarySettings(BufferConfig bufferConfig, String sourceId, String credential,
            io.tapline.journey.tls.TlsConfig tls) {
    }

    private final NbdEndpoint endpoint;
    private final Path dataDir;
    private final PrimarySettings primarySettings;
    private final Set<String> standby = ConcurrentHashMap.newKeySet();
    private final Map<String, Primary> primaries = new ConcurrentHashMap<>();
    private final ScheduledExecutorService scanner;
    /** The wedge's own volume, when this node was started by {@code tapline wedge --listen}. */
    private volatile SourceNode.Settings own;
    /** Volumes in split brain: why each serves nothing and waits for {@code tapline resolve}. */
    private final Map<String, String> splitBrains = new ConcurrentHashMap<>();
    /** The fencing refusal each split brain waits on (to rejoin with, on resolve --keep peer). */
    private final Map<String, String> pendingFences = new ConcurrentHashMap<>();
    /** Set by {@link #close} under the monitor: a scan or fence that waited for it then does nothing. */
    private boolean closed;

    /**
     * Told each time a volume starts being served as primary here (its source side is new: the
     * wedge's own at start, or a promoted replica's) and each time it stops (demoted, fenced,
     * closed), so that its meters follow the live buffer (probe M D4: after a switchover back they
     * showed the ended buffer's link down for ever). No-ops by default.
     */
    interface PrimaryListener {
        void served(String volumeId, SourceNode node);

        void ended(String volumeId);
    }

    private volatile PrimaryListener primaryListener = new PrimaryListener() {
        @Override
        public void served(String volumeId, SourceNode node) {
        }

        @Override
        public void ended(String volumeId) {
        }
    };

    /** Sets who is told of primaries starting and ending here (call before {@link #startServing}). */
    void onPrimaryChange(PrimaryListener listener) {
        primaryListener = java.util.Objects.requireNonNull(listener, "listener");
    }

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

    /**
     * The system property that sets how often, in milliseconds, the data directory is scanned for
     * new volumes and failed promotions (default 1000). The tests scan every few milliseconds, so
     * that a scan runs beside every role change.
     */
    static final String SCAN_PERIOD_PROPERTY = "tapline.exports.scanPeriodMillis";

    /** Serves every volume of the data directory as it is now, then keeps watching for new ones. */
    void startServing() throws IOException {
        scan();
        long period = Long.getLong(SCAN_PERIOD_PROPERTY, 1000);
        scanner.scheduleWithFixedDelay(this::scanQuietly, period, period, TimeUnit.MILLISECONDS);
    }

    /** Starts accepting hosts on the endpoint (after {@link #startServing}, so every export is there). */
    void listen() throws IOException {
        endpoint.listen();
    }

    InetSocketAddress address() {
        return endpoint.boundAddress();
    }

    private void scanQuietly() {
        try {
            scan();
            pollResolveRequests();
        } catch (IOException | RuntimeException e) {
            LOG.warn("replica exports: scan of {} failed: {}", dataDir, e.toString());
        }
    }

    /**
     * Serves new volumes as standbys, and promoted ones whose serving failed or is not started yet;
     * volumes already served are not read again. Holds the monitor of every role change: a scan
     * that ran beside a demotion read the role file while it still said primary, after the
     * demotion had taken the volume out of {@code primaries} but before it was a standby, and
     * served the demoted volume read-write again (a primary of the ended generation).
     */
    private synchronized void scan() throws IOException {
        if (closed) {
            return; // a scan that waited for close's monitor must not serve (and leak) a volume
        }
        for (String volumeId : ReplayServer.volumeIds(dataDir)) {
            if (primaries.containsKey(volumeId) || standby.contains(volumeId)) {
                continue; // served already: role changes arrive through the RoleListener, not the files
            }
            Path dir = dataDir.resolve(volumeId);
            VolumeRole role = VolumeRole.read(dir);
            long size = ReplayServer.volumeSizeBytes(dataDir, volumeId);
            if (role.primary()) {
                promoted(volumeId, dir, role, size);
            } else {
                serveStandby(volumeId, role, size);
            }
        }
    }

    /**
     * Serves the wedge's own volume ({@code tapline wedge --listen}): as the original primary
     * (generation 1) with the operator's settings, or, once it rejoined a promoted peer, as that
     * peer's standby secondary. Its directory in the node's data links {@code replica.img} to
     * the volume, so the node's replayer applies the peer's records to the same file.
     */
    synchronized void serveOwn(SourceNode.Settings settings) throws IOException {
        own = settings;
        String id = settings.export();
        Path dir = Files.createDirectories(dataDir.resolve(id));
        Path link = ReplayServer.replicaImage(dir);
        if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Files.createSymbolicLink(link, settings.volume().toAbsolutePath());
        }
        if (!Files.exists(dir.resolve(VolumeRole.FILE))) {
            VolumeRole.originalPrimary(System.currentTimeMillis(), Actor.current()).write(dir);
        }
        VolumeRole role = VolumeRole.read(dir);
        if (role.primary() && role.generation() == 1) {
            // The mark is written once the start made the image and before the primary's watch takes its
            // baseline: the ctime it moves is not another program's write (probe U D1: every first start of
            // a node warned so and compared the whole volume with each replica).
            SourceNode node = SourceNode.start(settings.on(endpoint, settings.sinkWrapper(), role.generation()),
                    () -> NodeVolumeMark.write(settings.volume(), dir));
            node.onFenced(reason -> scanner.execute(() -> fencedQuietly(id, reason)));
            primaries.put(id, new Primary(node, null));
            primaryListener.served(id, node);
            fenceIfSuperseded(id, dir, node);
        } else if (role.primary()) {
            promoted(id, dir, role, settings.sizeBytes());
        } else {
            DurableFiles.deleteTree(settings.bufferDir().resolve(id)); // a generation that ended (see Rejoin)
            serveStandby(id, role, settings.sizeBytes());
        }
        if (!(role.primary() && role.generation() == 1)) {
            // After the start, which creates a new image: a plain wedge on this image later finds the node
            // (written before, a first start's new image went unmarked: probe T T2). A first primary's was
            // written by its start, before the primary's watch.
            NodeVolumeMark.write(settings.volume(), dir);
        }
    }

    /**
     * A source of a newer generation reached this node's replayer while the volume is primary
     * here: another node was promoted (forced, while this one was cut off). The host stops at once
     * (EPERM), {@code <data>/<volume>/superseded} says why for status; the rejoin follows when the
     * newer primary refuses this node's own shipper (its refusal names the sequence it began at).
     */
    @Override
    public void superseded(String volumeId, Path volumeDir, VolumeRole role, long newerGeneration, String reason) {
        scanner.execute(() -> {
            Primary p;
            synchronized (this) {
                p = primaries.get(volumeId);
            }
            if (p == null) {
                return;
            }
            try {
                AdvisoryFiles.writeText(volumeDir, SUPERSEDED, reason + "\n");
            } catch (IOException | RuntimeException e) {
                LOG.error("volume={} {} not written: {}", volumeId, SUPERSEDED, e.toString());
            }
            p.node().fence("fenced: " + reason);
        });
    }

    /**
     * A node restarted after its primary met a newer generation keeps its host fenced: the newer
     * primary's refusal of this node's shipper makes it rejoin; an operator who checked that no
     * newer primary serves the volume deletes the file and restarts to serve the host again.
     */
    private static void fenceIfSuperseded(String volumeId, Path volumeDir, SourceNode node) throws IOException {
        Path file = volumeDir.resolve(SUPERSEDED);
        if (Files.exists(file)) {
            String reason = Files.readString(file).strip();
            LOG.error("volume={} host fenced at start: {} (delete {} once no newer primary serves the volume)",
                    volumeId, reason, file);
            node.fence("fenced: " + reason);
        }
    }

    /** {@code <data>/<volume>/superseded}: this node's primary met a newer generation (status shows it). */
    static final String SUPERSEDED = "superseded";
    /** In a volume's node folder while it is in a split brain: why (for status, resolve, a plain wedge's refusal). */
    static final String SPLIT_BRAIN = "split-brain";

    /** The own volume's source side (null when it is not the serving primary). */
    SourceNode ownNode() {
        SourceNode.Settings s = own;
        Primary p = s == null ? null : primaries.get(s.export());
        return p == null ? null : p.node();
    }

    private void fencedQuietly(String id, String reason) {
        try {
            fenced(id, reason, false);
        } catch (IOException | InterruptedException | RuntimeException e) {
            LOG.error("volume={} fenced by a newer primary but could not rejoin: {}", id, e.toString());
        }
    }

    /**
     * A remote refused this node's own primary because it was promoted. If its generation is newer,
     * host writes stop at once; then, unless this side captured writes after the peer's promotion
     * (a split brain, resolved by an operator), the volume rejoins as the peer's secondary.
     */
    private synchronized String fenced(String id, String reason, boolean resolving)
            throws IOException, InterruptedException {
        if (closed) {
            return "volume " + id + ": not rejoined, the replayer is stopping (" + reason + ")";
        }
        VolumeRole.Fence fence = VolumeRole.parseFence(reason);
        Path dir = dataDir.resolve(id);
        VolumeRole role = VolumeRole.read(dir);
        Primary p = primaries.get(id);
        if (fence == null || p == null || !role.primary() || fence.generation() <= role.generation()) {
            String why = "volume " + id + ": no newer primary fences this node (" + reason + ")";
            LOG.warn(why);
            return why;
        }
        p.node().fence("fenced: the replica was promoted to generation " + fence.generation() + " elsewhere");
        UnshippedRecords unshipped = UnshippedRecords.read(p.node().buffer(), fence.sequence(), fence.millis());
        if (unshipped.afterPromotion() > 0 && !resolving) {
            String splitBrain = "split brain: volume " + id + " was written on both sides since generation "
                    + fence.generation() + " began at " + java.time.Instant.ofEpochMilli(fence.millis()) + ": this side "
                    + unshipped.records() + " records (" + unshipped.bytes() + " bytes) after seq " + fence.sequence()
                    + ", " + unshipped.afterPromotion() + " of them after the promotion; the host is refused here;"
                    + " resolve with `tapline resolve " + (own != null ? "--buffer " + own.bufferDir() : "--data " + dataDir)
                    + " --volume " + id + " --keep peer|local`";
            AdvisoryFiles.writeText(dir, SPLIT_BRAIN, splitBrain + "\n");
            Files.createDirectories(dir.resolve(io.tapline.journey.source.MarkSpool.DIR));
            LOG.error(splitBrain);
            pendingFences.put(id, reason);
            splitBrains.put(id, splitBrain);
            return splitBrain;
        }
        primaries.remove(id);
        primaryListener.ended(id);
        boolean isOwn = p.written() == null; // the wedge's own volume as original primary, else a promoted replica
        Path bufferVolumeDir = isOwn ? own.bufferDir().resolve(id) : dir.resolve(PRIMARY_BUFFER).resolve(id);
        Path image = isOwn ? own.volume() : ReplayServer.replicaImage(dir);
        long size = isOwn ? own.sizeBytes() : ReplayServer.volumeSizeBytes(dataDir, id);
        String line = Rejoin.run(id, p.node(), bufferVolumeDir, dir, image, size, fence, unshipped,
                resolving ? "resolve by " + Actor.current() : "fenced by generation " + fence.generation(), !isOwn);
        if (!isOwn) {
            p.written().close();
            DurableFiles.deleteTree(dir.resolve(PRIMARY_WRITTEN));
            // The whole primary folder: its generation file alone made the next promotion set it aside
            // as an ended-primary-* folder with a WARN, one per failover (probe Q D2).
            DurableFiles.deleteTree(dir.resolve(PRIMARY_BUFFER));
        }
        Files.deleteIfExists(dir.resolve(SPLIT_BRAIN));
        Files.deleteIfExists(dir.resolve(SUPERSEDED));
        splitBrains.remove(id);
        pendingFences.remove(id);
        serveStandby(id, VolumeRole.read(dir), size);
        return line;
    }

    /**
     * {@code <data>/<volume>/requests/<id>.resolve} holds "peer" or "local": answered with
     * {@code <id>.done} or {@code <id>.failed} (one line).
     */
    private void pollResolveRequests() throws IOException {
        for (String volumeId : splitBrains.keySet()) {
            Path requests = dataDir.resolve(volumeId).resolve(io.tapline.journey.source.MarkSpool.DIR);
            if (!Files.isDirectory(requests)) {
                continue;
            }
            try (Stream<Path> files = Files.list(requests)) {
                for (Path req : (Iterable<Path>) files.filter(f -> f.toString().endsWith(RESOLVE_SUFFIX))::iterator) {
                    String name = req.getFileName().toString();
                    String id = name.substring(0, name.length() - RESOLVE_SUFFIX.length());
                    String keep = Files.readString(req).strip();
                    Files.deleteIfExists(req);
                    try {
                        AdvisoryFiles.writeText(requests, id + ".done", resolve(volumeId, keep) + "\n");
                    } catch (IOException | InterruptedException | RuntimeException e) {
                        AdvisoryFiles.writeText(requests, id + ".failed", String.valueOf(e.getMessage()) + "\n");
                    }
                }
            }
        }
    }

    /** Request suffix of {@code tapline resolve}. */
    static final String RESOLVE_SUFFIX = ".resolve";

    private synchronized String resolve(String id, String keep) throws IOException, InterruptedException {
        String pending = pendingFences.get(id);
        if (pending == null) {
            throw new IllegalStateException("volume " + id + " is not in split brain (nothing to resolve)");
        }
        if (keep.equals("peer")) {
            return fenced(id, pending, true);
        }
        if (!keep.equals("local")) {
            throw new IllegalArgumentException("keep: " + keep + " (expected: peer or local)");
        }
        // This side wins: the peer must have been demoted (its writes kept there as an image);
        // serve again, keeping the buffer, so the peer is resynced from here. A peer that still
        // refuses this node as fenced is still primary: serving again would only be fenced at once
        // (it answered success while the host kept getting EPERM: probe Q D5).
        Path dir = dataDir.resolve(id);
        Primary current = primaries.get(id);
        String unconfirmed = "";
        if (current != null) {
            for (io.tapline.journey.shipper.ShipperStatus link : current.node().linkStatuses()) {
                String error = link.lastError();
                if (!link.connected()) {
                    // An unreachable peer cannot confirm its demotion (probe T T5): said, not hidden.
                    unconfirmed = "; the peer " + (link.address() != null ? link.address() : link.remoteId())
                            + " is not reachable now, so its demotion is not confirmed: if it comes back still primary,"
                            + " this node is fenced again";
                }
                if (!link.connected() && error != null && error.startsWith("refused by replayer: fenced:")) {
                    throw new IllegalStateException("the peer " + (link.address() != null ? link.address()
                            : link.remoteId()) + " still refuses this node as fenced (it is primary): demote it first"
                            + " (tapline demote --remote HOST:PORT --volume " + id + "), then resolve again (if it was"
                            + " just demoted, retry in a few seconds)");
                }
            }
        }
        Primary p = primaries.remove(id);
        if (p != null) {
            primaryListener.ended(id);
        }
        if (p != null) {
            p.node().close();
            if (p.written() != null) {
                p.written().close();
            }
        }
        Files.deleteIfExists(dir.resolve(SPLIT_BRAIN));
        Files.deleteIfExists(dir.resolve(SUPERSEDED));
        splitBrains.remove(id);
        pendingFences.remove(id);
        if (p != null && p.written() == null) {
            serveOwn(own);
        } else {
            promoted(id, dir, VolumeRole.read(dir), ReplayServer.volumeSizeBytes(dataDir, id));
        }
        return "volume " + id + " serves its host again as primary; the peer must be demoted (tapline demote) so"
                + " that it is resynced from here" + unconfirmed;
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
        if (closed) {
            throw new IOException("volume " + volumeId + " is promoted (generation " + role.generation()
                    + ") but the replayer is stopping: it is served as primary at its next start");
        }
        if (primaries.containsKey(volumeId)) {
            return;
        }
        standby.remove(volumeId); // from now on the scan retries this volume until it is served
        // Its writes are numbered after what it applied: the volume's sequences never go back.
        String setAside = PromotedBuffer.prepare(volumeDir, volumeId, role.generation(), role.sequence());
        if (setAside != null) {
            LOG.warn(setAside);
        }
        ChangedChunks written = ChangedChunks.open(Files.createDirectories(volumeDir.resolve(PRIMARY_WRITTEN)),
                ChangedChunks.DEFAULT_CHUNK_BYTES);
        SourceNode node;
        try {
            SourceNode.Settings s = new SourceNode.Settings(endpoint.boundAddress(), volumeId, ReplayServer.replicaImage(volumeDir),
                    sizeBytes, volumeDir.resolve(PRIMARY_BUFFER), primarySettings.bufferConfig(), peers(role),
                    primarySettings.sourceId(), primarySettings.credential(),
                    io.tapline.journey.resync.ResyncConfig.DEFAULT, endpoint,
                    sink -> new WrittenChunksSink(sink, written, alsoWritten.apply(volumeId)),
                    role::generation, primarySettings.tls());
            node = SourceNode.start(s);
        } catch (IOException | RuntimeException e) {
            written.close();
            throw e;
        }
        node.onFenced(reason -> scanner.execute(() -> fencedQuietly(volumeId, reason)));
        primaries.put(volumeId, new Primary(node, written));
        primaryListener.served(volumeId, node);
        fenceIfSuperseded(volumeId, volumeDir, node);
        LOG.warn("volume={} served read-write as primary generation={} peers={}", volumeId, role.generation(),
                role.peers().isEmpty() ? "none" : role.peers());
    }

    /** Where a promoted volume's host writes are also tracked (a cascade node's forward hop); none by default. */
    private volatile java.util.function.Function<String, ChangedChunks> alsoWritten = id -> null;

    /**
     * Marks the chunks a promoted volume's host writes also in {@code changes.apply(volumeId)} (a
     * cascade node: the forward hop's changed chunks). Call before {@link #startServing}.
     */
    void trackWritesAlsoIn(java.util.function.Function<String, ChangedChunks> changes) {
        this.alsoWritten = java.util.Objects.requireNonNull(changes, "changes");
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

    /**
     * Stops serving the volume read-write. The host is fenced first; if every write then reaches
     * the volume's remotes (a planned switchover), nothing needs keeping; otherwise the chunks
     * written while primary are kept as {@code discarded-<generation>.img}, except for a node's own
     * volume and a switchover's hand-over ({@code handOver}): those are not demoted, and their host
     * is served again (a switchover went ahead with the acknowledged writes left behind in the
     * discarded image: probe Q D7). The volume's source side and its buffer end (they belong to a
     * generation that is over).
     */
    @Override
    public synchronized String demoting(String volumeId, Path volumeDir, VolumeRole role, boolean handOver)
            throws IOException {
        Primary p = primaries.get(volumeId);
        boolean isOwn = own != null && own.export().equals(volumeId) && p != null && p.written() == null;
        long sizeBytes = isOwn ? own.sizeBytes() : ReplayServer.volumeSizeBytes(dataDir, volumeId);
        String kept;
        if (p != null) {
            p.node().fence("being demoted: the volume is handed over to another node");
            boolean drained;
            try {
                drained = p.node().awaitDrained(DRAIN_TIMEOUT);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                drained = false;
            }
            if (!drained && (isOwn || handOver)) {
                if (isOwn) {
                    restartOwn(volumeId, p);
                } else {
                    restartPromoted(volumeId, volumeDir, role, sizeBytes, p);
                }
                throw new IOException("volume " + volumeId + " not demoted: " + (p.node().shipsNowhere()
                        ? "it ships to no remote (promoted without --peer), so no node holds its writes to hand over to"
                        : "its remotes did not acknowledge every write within " + DRAIN_TIMEOUT.toSeconds() + " s (a link"
                                + " down or behind, shipping or capture paused?)") + "; it serves its host again");
            }
            primaries.remove(volumeId);
            primaryListener.ended(volumeId);
            if (drained) {
                boolean none = p.written() != null && p.written().isEmpty();
                kept = none ? RoleListener.NOTHING_WRITTEN
                        : "nothing to keep: every write reached the remotes before the hand-over";
                p.node().close();
                if (p.written() != null) {
                    p.written().close();
                }
            } else {
                p.node().close();
                p.written().close();
                try {
                    kept = keepWritten(volumeId, volumeDir, role, sizeBytes);
                } catch (IOException e) {
                    // Its writes could not be kept aside (a full data disk): not demoted, served again as it
                    // was (the export vanished and status still said served: probe O O7).
                    String served = "it serves its host again";
                    try {
                        promoted(volumeId, volumeDir, role, sizeBytes);
                    } catch (IOException again) {
                        served = "serving it again failed too (" + again.getMessage() + "): the node retries";
                        standby.remove(volumeId); // the scan retries it until it is served
                    }
                    throw new IOException("volume " + volumeId + " not demoted: keeping the writes made while primary"
                            + " aside failed (" + DurableFiles.reason(e) + "); "
                            + served, e);
                }
            }
        } else {
            kept = keepWritten(volumeId, volumeDir, role, sizeBytes);
        }
        DurableFiles.deleteTree(volumeDir.resolve(PRIMARY_WRITTEN));
        DurableFiles.deleteTree(isOwn ? own.bufferDir().resolve(volumeId) : volumeDir.resolve(PRIMARY_BUFFER));
        serveStandby(volumeId, role, sizeBytes);
        return kept;
    }

    /** How long a demotion waits for the remotes to acknowledge every write of the fenced host. */
    static final java.time.Duration DRAIN_TIMEOUT = java.time.Duration.ofSeconds(30);

    /** A promoted volume whose hand-over failed: served again from its buffer (same generation: reused). */
    private void restartPromoted(String volumeId, Path volumeDir, VolumeRole role, long sizeBytes, Primary fenced)
            throws IOException {
        primaries.remove(volumeId);
        primaryListener.ended(volumeId);
        fenced.node().close();
        fenced.written().close();
        promoted(volumeId, volumeDir, role, sizeBytes);
    }

    private void restartOwn(String volumeId, Primary fenced) throws IOException {
        primaries.remove(volumeId);
        primaryListener.ended(volumeId);
        fenced.node().close();
        serveOwn(own);
    }

    private String keepWritten(String volumeId, Path volumeDir, VolumeRole role, long sizeBytes) throws IOException {
        List<long[]> ranges = ChangedChunks.readRanges(volumeDir.resolve(PRIMARY_WRITTEN), Integer.MAX_VALUE);
        if (ranges.isEmpty()) {
            return RoleListener.NOTHING_WRITTEN;
        }
        Path image = volumeDir.resolve("discarded-" + role.generation() + ".img");
        long bytes = DiscardedImage.write(ReplayServer.replicaImage(volumeDir), sizeBytes, ranges, image);
        return bytes + " bytes in " + ranges.size() + " ranges kept in " + image;
    }

    @Override
    public synchronized void close() {
        closed = true;
        scanner.shutdownNow();
        for (Primary p : primaries.values()) {
            p.node().close();
            try {
                if (p.written() != null) {
                    p.written().close();
                }
            } catch (IOException e) {
                LOG.warn("written-chunk bitmap not closed: {}", e.toString());
            }
        }
        primaries.clear();
    }
}
