package io.tapline.snoop.volume;

import io.tapline.journey.shipper.ShipperConfig;
import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.journey.source.SourceLink;
import io.tapline.journey.source.SourceSide;
import io.tapline.journey.source.SourceSink;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link SnoopSink} that stores: one {@link SourceSide} per volume under the buffer directory
 * ({@code <buffer>/<volume name>}, names per {@link VolumeNames}; the same source side as the
 * wedge's: buffer, shippers, cadences, marks), records appended in the order the sink is called
 * (completion order), and the volume's shippers started once its size is known (plus a link of
 * {@link #alsoShipOver}, Kafka). {@code tapline mark} goes through {@link #markSink}, under the
 * router's lock, so a mark is ordered with the completions decoded around it.
 *
 * <p>Volume size for the shipper handshake: the size seen on the wire (READ CAPACITY, NBD
 * handshake) wins; otherwise {@link Settings#fallbackSizeBytes()} (the {@code --volume-size}
 * option) once the volume has a record; without either, no shipper starts for the volume and
 * {@link #unshippedVolumes()} names it.
 *
 * <p>A whole-volume GAP has offset 0 and the volume's size as length, or
 * {@link Long#MAX_VALUE} when the size is unknown.
 *
 * <p>Thread-safety: the sink methods and {@link #syncAll} are synchronized (the capture thread
 * and a drop-counter thread both report).
 */
public final class VolumeRouter implements SnoopSink, Closeable {
    private static final Logger log = LoggerFactory.getLogger(VolumeRouter.class);
    /** Why a volume meant to ship has no shipper yet (status shows it: such a volume is never synced). */
    static final String NO_SIZE = "no shipper: the volume's size was not seen on the wire (no READ CAPACITY answer "
            + "or NBD handshake captured) and no --volume-size was given";

    /**
     * @param bufferDir          parent directory of the per-volume buffers
     * @param bufferConfig       segment and size limits of each buffer
     * @param remotes            replayers to ship to (may be empty)
     * @param sourceId           this source's id in the journey handshake
     * @param fallbackSizeBytes  volume size when the wire never shows it, or -1
     * @param names              naming rule
     * @param link               what each shipper's configuration adds (TLS)
     */
    public record Settings(Path bufferDir, BufferConfig bufferConfig, List<InetSocketAddress> remotes, String sourceId,
            long fallbackSizeBytes, VolumeNames names, java.util.function.UnaryOperator<ShipperConfig> link) {

        /** Settings whose shippers use the link defaults (plain TCP, no credential). */
        public Settings(Path bufferDir, BufferConfig bufferConfig, List<InetSocketAddress> remotes, String sourceId,
                long fallbackSizeBytes, VolumeNames names) {
            this(bufferDir, bufferConfig, remotes, sourceId, fallbackSizeBytes, names,
                    java.util.function.UnaryOperator.identity());
        }
    }

    private static final class Volume {
        final String name;
        final SourceSide side;
        final VolumeStats stats = new VolumeStats();

        Volume(String name, SourceSide side) {
            this.name = name;
            this.side = side;
        }
    }

    private final Settings settings;
    private final Map<VolumeKey, Volume> volumes = new LinkedHashMap<>();
    /** Volumes standing in for connections joined mid-stream ({@link #standIn}): not shipping them fails no import. */
    private final java.util.Set<VolumeKey> standIns = new java.util.HashSet<>();
    private volatile java.util.function.Consumer<SourceSide> onShipping = v -> { };
    private java.util.function.Consumer<SourceSide> onOpen = v -> { };
    private boolean blankTargets;
    private boolean live;
    private boolean syncOnFlush = true;
    private SourceLink.Factory linkFactory;
    private volatile boolean closed;

    public VolumeRouter(Settings settings) {
        this.settings = settings;
    }

    /**
     * Called (on the capture thread, under the router's lock: hand work off, never block) once a
     * volume's shippers have started.
     */
    public void onShipping(java.util.function.Consumer<SourceSide> listener) {
        this.onShipping = java.util.Objects.requireNonNull(listener, "listener");
    }

    /**
     * Called (on the capture thread, under the router's lock: hand work off, never block) when a
     * volume's source side opened, before its first record: where its cadences are set
     * ({@link SourceSide#syncEvery}, {@link SourceSide#publishStatus}). Set before the capture starts.
     */
    public synchronized void onOpen(java.util.function.Consumer<SourceSide> listener) {
        this.onOpen = java.util.Objects.requireNonNull(listener, "listener");
    }

    /**
     * Also ships every volume over a link {@code factory} starts (Kafka), with the journey
     * shippers or alone; call before the first record is delivered.
     */
    public synchronized void alsoShipOver(SourceLink.Factory factory) {
        if (!volumes.isEmpty()) {
            throw new IllegalStateException("links: volumes already seen (expected: set before the capture starts)");
        }
        this.linkFactory = java.util.Objects.requireNonNull(factory, "factory");
    }

    /** Whether volumes ship at all: to remotes, or over a link of {@link #alsoShipOver}. */
    private boolean ships() {
        return !settings.remotes().isEmpty() || linkFactory != null;
    }

    /**
     * Whether the targets' disks were empty when the tap first saw them ({@code tapline snoop
     * --blank-targets}): only the operator can know. Without it, a volume new to the buffer starts
     * with a whole-volume GAP, since what its disk held before the tap is unknown (a resync from
     * {@code --source} heals it). Set before the capture starts.
     */
    public synchronized void assumeBlankTargets(boolean blank) {
        this.blankTargets = blank;
    }

    /**
     * A live capture ({@code tapline snoop --interface}): a volume the buffer knows from an earlier
     * run starts this run with a whole-volume GAP, since the writes made while the tap was stopped
     * were never seen (a host that reconnected meanwhile shows no mid-stream join). An import
     * continues its buffer as it is. Set before the capture starts.
     */
    public synchronized void live(boolean on) {
        this.live = on;
    }

    /** The clock an import's buffers stamp capture times with (the packets' times); null: the host's. */
    private volatile java.time.Clock captureClock;

    /** An import stamps records with their packets' times ({@link io.tapline.snoop.capture.PacketClock}). Set before the capture starts. */
    public void stampWith(java.time.Clock clock) {
        this.captureClock = clock;
    }

    /** The clock set by {@link #stampWith}, or null. */
    public java.time.Clock captureClock() {
        return captureClock;
    }

    private Volume volume(VolumeKey key) {
        Volume v = volumes.get(key);
        if (v == null) {
            String name = settings.names().name(key);
            SourceSide side;
            try {
                side = captureClock == null
                        ? SourceSide.open(settings.bufferDir().resolve(name), name, settings.bufferConfig())
                        : SourceSide.open(settings.bufferDir().resolve(name), name, settings.bufferConfig(), captureClock);
                log.info("volume seen key={} volume={} {}", key.naturalKey(), name,
                        side.buffer().recoveryReport().summary());
            } catch (IOException e) {
                throw new UncheckedIOException("capture buffer of volume " + name + ": " + e.getMessage(), e);
            }
            v = new Volume(name, side);
            volumes.put(key, v);
            try {
                side.acceptMarks(markSink(v));
            } catch (IOException e) {
                log.error("volume={} tapline mark not available: {}", name, e.toString());
            }
            onOpen.accept(side);
            boolean isNew = side.created();
            String reason = isNew && !blankTargets
                    ? "the disk's content before the tap first saw it is unknown (resync it from --source, or start"
                            + " with --blank-targets if the disk was empty)"
                    : !isNew && live ? "the tap was not capturing before this start: the writes made since it last"
                            + " stopped are unknown (resync it from --source)" : null;
            if (reason != null) {
                gap(key, 0, WHOLE_VOLUME, reason); // the volume is in the map: it finds it there
            }
        }
        return v;
    }

    /**
     * Whether a FLUSH or FUA record is made durable at once (the default, for live capture: the
     * host's flush is what the replica promises). An offline import turns it off: the file is
     * already complete, so only durability at the end of the import matters, and the periodic
     * and final {@link #syncAll} provide it without an fsync per flush.
     */
    public synchronized void syncOnFlush(boolean on) {
        this.syncOnFlush = on;
    }

    @Override
    public synchronized void standIn(VolumeKey key) {
        if (standIns.add(key)) {
            log.info("volume stands in for connections joined mid-stream key={}: its writes are GAPs on the server's"
                    + " named volumes too; without a size seen or --volume-size it is not shipped", key);
        }
    }

    @Override
    public synchronized void geometry(VolumeKey key, long sizeBytes, int blockSizeBytes) {
        Volume v = volume(key);
        if (sizeBytes > 0) {
            v.stats.sizeBytes = sizeBytes;
        }
        v.stats.blockSizeBytes = blockSizeBytes;
        startShippers(v);
    }

    @Override
    public synchronized void completed(VolumeKey key, RecordKind kind, long offsetBytes, long lengthBytes, int flags,
            Provenance provenance, byte[] payload) {
        Volume v = volume(key);
        VolumeStats s = v.stats;
        if (kind != RecordKind.FLUSH && !inVolume(offsetBytes, lengthBytes, s.sizeBytes)) {
            // A target that confirms a command outside the disk (a client's bad offset answered as a
            // success) leaves its disk unknown to us: never a record that cannot be, never a stop.
            gap(key, 0, WHOLE_VOLUME, "the target confirmed a " + kind + " outside the volume (offset " + offsetBytes
                    + ", length " + lengthBytes + ", volume " + (s.sizeBytes > 0 ? s.sizeBytes + " bytes" : "size unknown")
                    + "): its disk is unknown from here");
            return;
        }
        switch (kind) {
            case WRITE -> {
                s.writes++;
                s.writeBytes += lengthBytes;
            }
            case WRITE_ZEROES -> s.zeroes++;
            case DISCARD -> s.discards++;
            case FLUSH -> s.flushes++;
            default -> throw new IllegalArgumentException("kind: " + kind + " (expected: a completed command)");
        }
        append(v, kind, offsetBytes, lengthBytes, flags, provenance, payload);
        if (syncOnFlush && (kind == RecordKind.FLUSH || (flags & CaptureRecord.FLAG_FUA) != 0)) {
            sync(v);
        }
    }

    @Override
    public synchronized void gap(VolumeKey key, long offsetBytes, long lengthBytes, String reason) {
        Volume v = volume(key);
        long length = lengthBytes != WHOLE_VOLUME ? lengthBytes
                : v.stats.sizeBytes > 0 ? v.stats.sizeBytes : Long.MAX_VALUE;
        long offset = lengthBytes == WHOLE_VOLUME ? 0 : offsetBytes;
        if (lengthBytes != WHOLE_VOLUME && !inVolume(offset, length, 0)) {
            // A range no disk has (a negative offset, an overflowing end): a client's malformed
            // request, which the target refuses. Nothing can have changed there; the rest goes on.
            log.warn("capture gap outside any volume ignored volume={} offset={} length={} reason={}", v.name, offset,
                    length, reason);
            return;
        }
        if (v.stats.sizeBytes > 0 && offset >= v.stats.sizeBytes) {
            log.warn("capture gap past the volume's end ignored volume={} offset={} length={} size={} reason={}", v.name,
                    offset, length, v.stats.sizeBytes, reason);
            return;
        }
        if (v.stats.sizeBytes > 0 && length > v.stats.sizeBytes - offset) {
            length = v.stats.sizeBytes - offset; // what lies inside the disk
        }
        v.stats.gaps++; // only GAPs recorded count (the summary's figure and the import's exit code)
        log.warn("capture gap volume={} offset={} length={} reason={}", v.name, offset, length, reason);
        append(v, RecordKind.GAP, offset, length, 0, Provenance.INTERNAL, reason.getBytes(StandardCharsets.UTF_8));
    }

    /** Whether {@code [offset, offset + length)} can lie on a disk of {@code sizeBytes} (0: size unknown). */
    private static boolean inVolume(long offset, long length, long sizeBytes) {
        if (offset < 0 || length < 0 || offset + length < offset) {
            return false;
        }
        return sizeBytes <= 0 || offset + length <= sizeBytes;
    }

    @Override
    public synchronized void readSeen(VolumeKey key) {
        volume(key).stats.reads++;
    }

    /** Capture lost packets (drops, truncation) of unknown connections: a whole-volume GAP on every volume. */
    public synchronized void gapEverywhere(String reason) {
        for (VolumeKey key : volumes.keySet()) {
            gap(key, 0, WHOLE_VOLUME, reason);
        }
    }

    private void append(Volume v, RecordKind kind, long offset, long length, int flags, Provenance p, byte[] payload) {
        try {
            if (v.side.buffer().append(kind, offset, length, flags, p, payload) == null) {
                v.stats.notStored++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("append to the capture buffer of volume " + v.name + ": " + e.getMessage(), e);
        }
        startShippers(v);
    }

    /**
     * The volume's {@link SourceSink} ({@code tapline mark}): the record is appended under the
     * router's lock, after every completion delivered before, and made durable before the
     * completion is told its sequence (on the calling thread).
     */
    private SourceSink markSink(Volume v) {
        return (kind, offset, length, flags, provenance, payload, completion) -> {
            CaptureRecord record;
            synchronized (this) {
                if (closed) {
                    completion.completed(0, "the snoop is stopping");
                    return;
                }
                try {
                    record = v.side.buffer().append(kind, offset, length, flags, provenance, payload);
                } catch (IOException | RuntimeException e) {
                    completion.completed(0, "append to the capture buffer failed: " + e.getMessage());
                    return;
                }
                startShippers(v);
            }
            if (record == null) {
                completion.completed(0, "capture buffer full: the mark was not stored");
            } else if (!v.side.sync()) {
                completion.completed(0, "capture buffer failed: " + v.side.buffer().failure());
            } else {
                completion.completed(record.sequence(), null);
            }
        };
    }

    /**
     * An import ships once its file is decoded ({@link #shipAfterDecode}): a shipper started while
     * the buffer still grows would meet a replica that applied this file before as one ahead of the
     * buffer, and number past it, instead of skipping what it applied.
     */
    private boolean holdShipping;

    /** Holds every volume's shipping until {@link #releaseShipping}. Set before the capture starts. */
    public synchronized void shipAfterDecode() {
        holdShipping = true;
    }

    /** The file is decoded: every volume ships from now on. */
    public synchronized void releaseShipping() {
        holdShipping = false;
        for (Volume v : volumes.values()) {
            startShippers(v);
        }
    }

    private void startShippers(Volume v) {
        if (v.side.shipping() || !ships() || holdShipping) {
            return;
        }
        long size = v.stats.sizeBytes > 0 ? v.stats.sizeBytes
                : v.side.buffer().lastSequence() > 0 ? settings.fallbackSizeBytes() : -1;
        if (size <= 0) {
            v.side.notShippingBecause(NO_SIZE);
            return;
        }
        int blockSize = v.stats.blockSizeBytes > 0 ? v.stats.blockSizeBytes : 512;
        try {
            v.side.ship(new SourceSide.Shipping(settings.remotes(), settings.sourceId(), size, blockSize,
                    settings.link()), linkFactory);
        } catch (IOException e) {
            throw new UncheckedIOException("shipping of volume " + v.name + ": " + e.getMessage(), e);
        }
        log.info("shipping volume={} sizeBytes={} blockSize={} remotes={} links={}", v.name, size, blockSize,
                settings.remotes().size(), v.side.links().size());
        onShipping.accept(v.side);
    }

    private void sync(Volume v) {
        v.side.sync();
    }

    /**
     * Makes every record appended before the call durable. The fsyncs run outside the router's
     * lock (each buffer's {@code sync} is thread-safe), so the capture thread keeps appending
     * meanwhile.
     */
    public void syncAll() {
        List<Volume> all;
        synchronized (this) {
            if (closed) {
                return;
            }
            all = new ArrayList<>(volumes.values());
        }
        for (Volume v : all) {
            sync(v);
        }
    }

    /** Volume name to its counters, in the order volumes were first seen. */
    public synchronized Map<String, VolumeStats> stats() {
        Map<String, VolumeStats> out = new LinkedHashMap<>();
        for (Volume v : volumes.values()) {
            out.put(v.name, v.stats);
        }
        return out;
    }

    /**
     * Names of volumes with records but no shipper (size unknown and no fallback), when remotes
     * or links are configured.
     */
    public synchronized List<String> unshippedVolumes() {
        List<String> out = new ArrayList<>();
        for (Map.Entry<VolumeKey, Volume> e : volumes.entrySet()) {
            Volume v = e.getValue();
            if (ships() && !v.side.shipping() && !standIns.contains(e.getKey())) {
                out.add(v.name);
            }
        }
        return out;
    }

    /**
     * One volume's shipping progress: its newest captured sequence and a status snapshot of each
     * of its shippers (empty while none runs).
     */
    public record ShippingProgress(String volume, long lastSequence, List<ShipperStatus> links,
            List<io.tapline.journey.shipper.Shipper.HistoryVerdict> histories) {
        /** A snapshot without history verdicts (none checked yet). */
        public ShippingProgress(String volume, long lastSequence, List<ShipperStatus> links) {
            this(volume, lastSequence, links, List.of());
        }
    }

    /** Every volume's shipping progress, in the order volumes were first seen. */
    public synchronized List<ShippingProgress> shippingProgress() {
        List<ShippingProgress> out = new ArrayList<>();
        for (Volume v : volumes.values()) {
            out.add(new ShippingProgress(v.name, v.side.buffer().lastSequence(), List.copyOf(v.side.linkStatuses()),
                    v.side.shippers().stream().map(io.tapline.journey.shipper.Shipper::historyVerdict).toList()));
        }
        return out;
    }

    /** Every volume's source side, in the order volumes were first seen. */
    public synchronized List<SourceSide> sides() {
        List<SourceSide> out = new ArrayList<>();
        for (Volume v : volumes.values()) {
            out.add(v.side);
        }
        return out;
    }

    /** The buffer of a volume by name (for tests and status), or null. */
    public synchronized CaptureBuffer buffer(String name) {
        for (Volume v : volumes.values()) {
            if (v.name.equals(name)) {
                return v.side.buffer();
            }
        }
        return null;
    }

    /** Closes every volume's source side (shippers, links, buffer synced and closed, last status). */
    @Override
    public void close() {
        List<Volume> all;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            all = new ArrayList<>(volumes.values());
        }
        for (Volume v : all) {
            v.side.close();
        }
    }
}
