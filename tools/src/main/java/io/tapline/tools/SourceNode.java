package io.tapline.tools;

import io.tapline.journey.resync.ResyncConfig;
import io.tapline.journey.resync.ResyncEngine;
import io.tapline.journey.shipper.Shipper;
import io.tapline.journey.source.SourceSide;
import io.tapline.log.DurableFiles;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.cycles.LayeredVolume;
import io.tapline.wedge.capture.CaptureSink;
import io.tapline.wedge.server.NbdEndpoint;
import io.tapline.wedge.server.WedgeConfig;
import io.tapline.wedge.server.WedgeServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A wedge in front of one volume's {@link SourceSide} (its capture buffer, one shipper per
 * remote, cadences, marks), with the volume's resync engine and operator controls. Starts them
 * in dependency order; the source side closes them in reverse (the wedge drains its in-flight
 * requests and syncs the buffer before the buffer closes).
 */
final class SourceNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SourceNode.class);
    static final int BLOCK_SIZE_BYTES = 4096;

    /**
     * What an operator configures for one wedge. With an {@code endpoint} the export is served
     * on that shared NBD endpoint ({@code nbd} is ignored); {@code sinkWrapper} may add to what
     * the capture sink does (a promoted replica also records the chunks it wrote); a
     * {@code generation} above 0 is announced to every remote (failover): read at each HELLO and
     * about once a second, so a cascade hop announces the generation its node follows now.
     */
    record Settings(InetSocketAddress nbd, String export, Path volume, long sizeBytes, Path bufferDir,
            BufferConfig bufferConfig, List<InetSocketAddress> remotes, String sourceId, String credential,
            ResyncConfig resync, NbdEndpoint endpoint, UnaryOperator<CaptureSink> sinkWrapper,
            java.util.function.LongSupplier generation, io.tapline.journey.tls.TlsConfig tls) {
        Settings(InetSocketAddress nbd, String export, Path volume, long sizeBytes, Path bufferDir,
                BufferConfig bufferConfig, List<InetSocketAddress> remotes, String sourceId, String credential,
                ResyncConfig resync) {
            this(nbd, export, volume, sizeBytes, bufferDir, bufferConfig, remotes, sourceId, credential, resync, null,
                    UnaryOperator.identity(), () -> 0, null);
        }

        /** The same settings served on {@code shared} as the primary of {@code gen}. */
        Settings on(NbdEndpoint shared, UnaryOperator<CaptureSink> wrapper, long gen) {
            return new Settings(nbd, export, volume, sizeBytes, bufferDir, bufferConfig, remotes, sourceId, credential,
                    resync, shared, wrapper, () -> gen, tls);
        }

        /** The same settings shipping over TLS ({@code null}: plain TCP). */
        Settings withTls(io.tapline.journey.tls.TlsConfig t) {
            return new Settings(nbd, export, volume, sizeBytes, bufferDir, bufferConfig, remotes, sourceId, credential,
                    resync, endpoint, sinkWrapper, generation, t);
        }

        Settings(InetSocketAddress nbd, String export, Path volume, long sizeBytes, Path bufferDir,
                BufferConfig bufferConfig, List<InetSocketAddress> remotes, String sourceId, String credential) {
            this(nbd, export, volume, sizeBytes, bufferDir, bufferConfig, remotes, sourceId, credential,
                    ResyncConfig.DEFAULT);
        }
    }

    /** Something done on the way that may fail with an I/O error. */
    @FunctionalInterface
    interface IoAction {
        void run() throws IOException;
    }

    private final SourceSide side;
    private final CaptureBuffer buffer;
    private WedgeServer wedge;
    private ResyncEngine resync;
    private volatile java.util.function.Consumer<String> fencedListener;
    /** The last fence refusal told to the listener: each different one is told once. */
    private final java.util.concurrent.atomic.AtomicReference<String> fencedTold =
            new java.util.concurrent.atomic.AtomicReference<>();

    private SourceNode(SourceSide side) {
        this.side = side;
        this.buffer = side.buffer();
    }

    static SourceNode start(Settings s) throws IOException {
        return start(s, () -> { });
    }

    /**
     * {@link #start(Settings)}, running {@code primaryOpened} once the wedge holds the primary
     * (a new image exists from then on) and before the watch for other programs' writes takes the
     * image's baseline: a change of the image's metadata made there (a wedge node's mark, which
     * moves its {@code ctime}) is Tapline's own, not another program's.
     */
    static SourceNode start(Settings s, IoAction primaryOpened) throws IOException {
        return assemble(s, null, null, null, primaryOpened);
    }

    /**
     * A wedge in cycle mode: the host's writes go to the volume's active layer, not the capture
     * buffer; every {@code cycle} (while the host writes) the volume is frozen and the frozen image
     * copied to every remote as one resync epoch (see {@link ResyncEngine}).
     */
    static SourceNode startCycles(Settings s, java.time.Duration cycle, CycleGroup group) throws IOException {
        return assemble(s, null, java.util.Objects.requireNonNull(cycle, "cycle"), group, () -> { });
    }

    /**
     * The source side of the next hop of a cascade: a capture buffer the caller appends forwarded
     * records to ({@link #buffer()}), shippers to {@code s.remotes()}, and a resync engine over
     * {@code replica}; no wedge ({@code s.nbd()}, {@code s.volume()} and the endpoint are unused).
     */
    static SourceNode forwarding(Settings s, io.tapline.journey.resync.SourceVolume replica) throws IOException {
        return assemble(s, java.util.Objects.requireNonNull(replica, "replica"), null, null, () -> { });
    }

    /**
     * The wedge primary's page-cache policy ({@code --primary-cache}); a forwarding node has no
     * primary. Returns false when the platform cannot.
     */
    boolean usePrimaryPageCachePolicy(io.tapline.log.volume.PageCachePolicy policy) {
        return wedge == null || wedge.usePrimaryPageCachePolicy(policy);
    }

    /** A wedge in front of the volume unless {@code forwardedFrom} is given (then no host is served). */
    private static SourceNode assemble(Settings s, io.tapline.journey.resync.SourceVolume forwardedFrom,
            java.time.Duration cycle, CycleGroup group, IoAction primaryOpened) throws IOException {
        io.tapline.log.volume.VolumeFile.checkSettings(); // a wrong value stops the start before a buffer is made
        Path created = firstMissing(s.bufferDir().resolve(s.export()).toAbsolutePath());
        SourceSide side;
        try {
            side = SourceSide.open(s.bufferDir().resolve(s.export()), s.export(), s.bufferConfig());
        } catch (IOException | RuntimeException e) {
            deleteCreated(created);
            throw e;
        }
        CaptureBuffer buffer = side.buffer();
        LOG.info("buffer opened volume={} {}", s.export(), buffer.recoveryReport().summary());
        if (forwardedFrom == null) { // a wedge: its first writes meet a warm process (its buffer folder is held)
            io.tapline.wedge.server.WedgeWarmUp.onceAtStart(side.volumeDir(), s.bufferConfig());
        }
        SourceNode node = new SourceNode(side);
        try {
            side.ship(new SourceSide.Shipping(s.remotes(), s.sourceId(), s.sizeBytes(), BLOCK_SIZE_BYTES,
                    c -> c.withCredential(s.credential()).withGeneration(s.generation()).withTls(s.tls())), null);
            if (forwardedFrom == null) {
                // A wedge's hosts write through it: its stop ends their writes, so its last word can tell
                // the replicas they hold all of them. A hop's upstream (or a snoop's target) keeps writing.
                side.sayLastWordOnStop();
            }
            if (cycle == null) { // a cycle freezes only with every link up: cycle mode keeps every remote
                side.releaseLaggingRemotesAfter(s.resync().releaseRemoteAfter());
            }
            io.tapline.journey.resync.SourceVolume volume = forwardedFrom;
            WedgeCycles cycles = null;
            if (volume == null && cycle == null) {
                // before any write of ours; a promoted replica's new buffer (generation > 0) is in step already
                PrimaryStamp.check(side.volumeDir(), s.volume(), buffer, side.created() && s.generation().getAsLong() == 0);
                endCycleMode(s.volume(), s.sizeBytes(), buffer); // a switch from cycle mode: a cycle boundary
                WedgeConfig wedgeConfig = WedgeConfig.of(s.nbd(), s.export(), s.volume(), s.sizeBytes(),
                        s.sinkWrapper().apply(CaptureSink.of(buffer)));
                WedgeServer wedge = s.endpoint() == null ? WedgeServer.start(wedgeConfig)
                        : WedgeServer.start(wedgeConfig, s.endpoint());
                node.wedge = wedge;
                side.own(() -> {
                    wedge.close();
                    PrimaryStamp.atClose(side.volumeDir(), s.volume());
                });
                PrimaryStamp.remove(side.volumeDir()); // the host's writes move the primary on from here
                primaryOpened.run();
                side.own(PrimaryWatch.every(s.volume(), buffer, wedge)); // closed before the wedge
                side.acceptMarks(new WedgeSourceSink(node.wedge, () -> WedgeSourceSink.journalNotStored(buffer)));
                volume = new WedgeVolume(node.wedge, s.sizeBytes());
            } else if (volume == null) {
                PrimaryStamp.remove(side.volumeDir()); // cycle mode stamps nothing: a journal run's stamp ends here
                java.util.concurrent.atomic.AtomicReference<LayeredVolume> layered =
                        new java.util.concurrent.atomic.AtomicReference<>();
                WedgeConfig wedgeConfig = WedgeConfig.of(s.nbd(), s.export(), s.volume(), s.sizeBytes(),
                        new io.tapline.wedge.capture.UncapturedSink());
                node.wedge = side.own(WedgeServer.start(wedgeConfig, s.endpoint(), (path, size) -> {
                    LayeredVolume v = LayeredVolume.open(path, size);
                    v.onFirstWriteOfCycle(side::publishNow);
                    layered.set(v);
                    return v;
                }));
                side.acceptMarks(new WedgeSourceSink(node.wedge, () -> WedgeSourceSink.CYCLE_MODE));
                cycles = new WedgeCycles(node.wedge, layered.get(), group);
            }
            node.resync = side.own(cycles != null
                    ? ResyncEngine.startCycles(s.export(), buffer, side.shippers(), cycles, s.resync(), cycle)
                    : ResyncEngine.start(s.export(), buffer, side.shippers(), volume, s.resync()));
            side.resync(node.resync);
            side.publishStatus(new SourceStatusFiles(SourceStatusFiles.Stopped.LINKS_MARKED_STOPPED, node::checkFenced));
            side.own(RequestSpool.start(side.volumeDir(), node.resync,
                    OperatorControls.start(side.volumeDir(), buffer, side.shippers()).withResync(node.resync)
                            .auditedBy(SourceStatusFiles.operatorAuditOf(side))));
            return node;
        } catch (IOException | RuntimeException e) {
            boolean nothingCaptured = buffer.lastSequence() == 0;
            node.close();
            if (nothingCaptured) {
                deleteCreated(created); // e.g. the address is in use: leave no new buffer behind
            }
            throw e;
        }
    }

    /**
     * Journal mode on a volume that has cycle layers (a switch from cycle mode): the layers are
     * merged into the volume, and the blocks they held are tracked so that a resync epoch brings
     * the replicas (at the last copied cycle) in step before the journal goes on.
     */
    private static void endCycleMode(Path volume, long sizeBytes, CaptureBuffer buffer) throws IOException {
        if (!LayeredVolume.hasLayers(volume)) {
            return;
        }
        LayeredVolume.flatten(volume, sizeBytes, buffer.changedChunks());
        LOG.info("cycle mode ended volume={}: its layers were merged into the volume and their blocks are tracked"
                + " for a resync ({} chunks)", volume, buffer.changedChunks().count());
    }

    /** The outermost directory of {@code dir} that does not exist yet, or null. */
    private static Path firstMissing(Path dir) {
        Path missing = null;
        for (Path p = dir; p != null && !Files.exists(p); p = p.getParent()) {
            missing = p;
        }
        return missing;
    }

    /** Deletes a directory tree this start created (it holds only files the failed start wrote). */
    private static void deleteCreated(Path dir) {
        if (dir == null) {
            return;
        }
        try {
            DurableFiles.deleteTree(dir);
        } catch (IOException e) {
            LOG.warn("buffer directory created by a failed start not removed dir={} error={}", dir, e.toString());
        }
    }

    /**
     * Also ships the buffer to the volume's Kafka topic ({@code --kafka}), with its own cursor in the
     * buffer; the link shows in the status files like a journey link, named {@code kafka}. Kafka's
     * sites cannot be asked for hashes: the settings' resync must copy its chunks
     * ({@link ResyncConfig#copyChunks}), else a resync would compare with nobody and heal nothing.
     */
    synchronized void shipToKafka(io.tapline.kafka.KafkaLinkConfig link, String sourceId, long sizeBytes)
            throws IOException {
        if (!side.links().isEmpty()) {
            throw new IllegalStateException("kafka: already shipping to " + side.links().get(0).status().address());
        }
        if (resync == null || !resync.copiesChunks()) {
            throw new IllegalStateException("kafka: the volume's resync compares chunks (expected: copying them,"
                    + " ResyncConfig.copyingChunks)");
        }
        side.addLink(new KafkaSourceLinks(link, sourceId).start(buffer.volumeId(), sizeBytes, BLOCK_SIZE_BYTES, buffer));
    }

    /** Registers this volume's buffer and link meters. */
    void bindMetrics(io.micrometer.core.instrument.MeterRegistry registry, String volume) {
        SourceMetrics.bind(registry, volume, buffer, side.shippers(), resync, side);
    }

    InetSocketAddress nbdAddress() {
        return wedge.boundAddress();
    }

    /** The resync engine of this volume. */
    ResyncEngine resync() {
        return resync;
    }

    /**
     * Tells {@code listener} each refusal of a remote that fences this source (a replica promoted
     * to primary), once per different refusal: on the status thread.
     */
    void onFenced(java.util.function.Consumer<String> listener) {
        this.fencedListener = listener;
    }

    /** Stops serving the host at once (data commands refused); returns when no write is in flight. */
    void fence(String reason) {
        if (wedge != null) {
            wedge.standby(reason);
        }
    }

    /**
     * Waits until every remote acknowledged every captured record and reports a consistent
     * replica at the last of them, with no tracked chunk and no resync left (the host must be
     * fenced first, or it may never end); false at {@code timeout}, or when there is no remote.
     */
    /** Whether the volume ships to no remote at all (a promotion without {@code --peer}): nothing can drain it. */
    boolean shipsNowhere() {
        return side.shippers().isEmpty();
    }

    boolean awaitDrained(java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        if (side.shippers().isEmpty()) {
            return false; // nothing to drain to: no wait can make it true
        }
        while (true) {
            List<Shipper> shippers = side.shippers();
            boolean drained = !shippers.isEmpty() && buffer.changedChunks().isEmpty()
                    && (resync == null || resync.status().state().equals("idle"));
            for (Shipper s : shippers) {
                io.tapline.journey.control.ReplicaStateReport r = s.replicaState();
                drained &= s.connected() && s.status().lastAckedSequence() >= buffer.lastSequence() && r != null
                        && r.state().equals(io.tapline.journey.control.ReplicaStateReport.CONSISTENT)
                        && r.lastApplied() >= buffer.lastSequence();
            }
            if (drained) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20); // the links progress on their own threads; the acknowledgements are polled
        }
    }

    /** A status snapshot of each of the volume's links. */
    List<io.tapline.journey.shipper.ShipperStatus> linkStatuses() {
        return side.linkStatuses();
    }

    /** The capture buffer (for reading what a fenced primary never shipped). */
    CaptureBuffer buffer() {
        return buffer;
    }

    private void checkFenced(io.tapline.journey.shipper.ShipperStatus status) {
        java.util.function.Consumer<String> listener = fencedListener;
        String error = status.lastError();
        if (listener == null || error == null || !error.startsWith("refused by replayer: fenced:")) {
            return;
        }
        // Each different refusal once (not once per run): a refusal from an older generation (a peer
        // this node fenced itself) is ignored by the listener, and a later one from a newer
        // generation must still reach it, or two primaries go on taking writes.
        String told = fencedTold.get();
        if (!error.equals(told) && fencedTold.compareAndSet(told, error)) {
            listener.accept(error.substring("refused by replayer: ".length()));
        }
    }

    /** Closes the source side: resync, the wedge (drains and syncs), shippers, links, buffer; status marked stopped. */
    @Override
    public void close() {
        side.close();
    }
}
