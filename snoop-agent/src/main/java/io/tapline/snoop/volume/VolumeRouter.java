package io.tapline.snoop.volume;

import io.tapline.journey.shipper.Shipper;
import io.tapline.journey.shipper.ShipperConfig;
import io.tapline.journey.shipper.ShipperStatus;
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
 * The {@link SnoopSink} that stores: one {@link CaptureBuffer} per volume under the buffer
 * directory ({@code <buffer>/<volume name>}, names per {@link VolumeNames}), records appended in
 * the order the sink is called (completion order), and one shipper per remote and volume once
 * the volume's size is known (plus the volume's {@link VolumeLink}, Kafka, when
 * {@link #alsoShipOver} set a factory).
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

    /**
     * @param bufferDir          parent directory of the per-volume buffers
     * @param bufferConfig       segment and size limits of each buffer
     * @param remotes            replayers to ship to (may be empty)
     * @param sourceId           this source's id in the journey handshake
     * @param fallbackSizeBytes  volume size when the wire never shows it, or -1
     * @param names              naming rule
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

    private final class Volume {
        final String name;
        final CaptureBuffer buffer;
        final VolumeStats stats = new VolumeStats();
        final List<Shipper> shippers = new ArrayList<>();
        /** Links of {@link #alsoShipOver}, started with the shippers. */
        final List<VolumeLink> links = new ArrayList<>();
        /** Whether the shippers and links started (a volume may have only links). */
        boolean shipping;
        /** Whether the buffer's failure ({@link CaptureBuffer#failure}) was logged (once). */
        volatile boolean failureReported;

        Volume(String name, CaptureBuffer buffer) {
            this.name = name;
            this.buffer = buffer;
        }
    }

    /** A volume whose shippers just started: what a resync engine for it needs. */
    public record ShippingVolume(String name, CaptureBuffer buffer, List<Shipper> shippers, long sizeBytes) {
    }

    private final Settings settings;
    private final Map<VolumeKey, Volume> volumes = new LinkedHashMap<>();
    private volatile java.util.function.Consumer<ShippingVolume> onShipping = v -> { };
    private boolean syncOnFlush = true;
    private VolumeLink.Factory linkFactory;
    private volatile boolean closed;

    public VolumeRouter(Settings settings) {
        this.settings = settings;
    }

    /**
     * Called (on the capture thread, under the router's lock: hand work off, never block) once a
     * volume's shippers have started.
     */
    public void onShipping(java.util.function.Consumer<ShippingVolume> listener) {
        this.onShipping = java.util.Objects.requireNonNull(listener, "listener");
    }

    /**
     * Also ships every volume over a link {@code factory} starts (Kafka), with the journey
     * shippers or alone; call before the first record is delivered.
     */
    public synchronized void alsoShipOver(VolumeLink.Factory factory) {
        if (!volumes.isEmpty()) {
            throw new IllegalStateException("links: volumes already seen (expected: set before the capture starts)");
        }
        this.linkFactory = java.util.Objects.requireNonNull(factory, "factory");
    }

    /** Whether volumes ship at all: to remotes, or over a link of {@link #alsoShipOver}. */
    private boolean ships() {
        return !settings.remotes().isEmpty() || linkFactory != null;
    }

    private Volume volume(VolumeKey key) {
        Volume v = volumes.get(key);
        if (v == null) {
            String name = settings.names().name(key);
            try {
                CaptureBuffer buffer = CaptureBuffer.open(settings.bufferDir().resolve(name), name, settings.bufferConfig());
                log.info("volume seen key={} volume={} {}", key.naturalKey(), name, buffer.recoveryReport().summary());
                v = new Volume(name, buffer);
            } catch (IOException e) {
                throw new UncheckedIOException("capture buffer of volume " + name + ": " + e.getMessage(), e);
            }
            volumes.put(key, v);
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
        v.stats.gaps++;
        long length = lengthBytes != WHOLE_VOLUME ? lengthBytes
                : v.stats.sizeBytes > 0 ? v.stats.sizeBytes : Long.MAX_VALUE;
        long offset = lengthBytes == WHOLE_VOLUME ? 0 : offsetBytes;
        log.warn("capture gap volume={} offset={} length={} reason={}", v.name, offset, length, reason);
        append(v, RecordKind.GAP, offset, length, 0, Provenance.INTERNAL, reason.getBytes(StandardCharsets.UTF_8));
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
            if (v.buffer.append(kind, offset, length, flags, p, payload) == null) {
                v.stats.notStored++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("append to the capture buffer of volume " + v.name + ": " + e.getMessage(), e);
        }
        startShippers(v);
    }

    private void startShippers(Volume v) {
        if (v.shipping || !ships()) {
            return;
        }
        long size = v.stats.sizeBytes > 0 ? v.stats.sizeBytes
                : v.buffer.lastSequence() > 0 ? settings.fallbackSizeBytes() : -1;
        if (size <= 0) {
            return;
        }
        int blockSize = v.stats.blockSizeBytes > 0 ? v.stats.blockSizeBytes : 512;
        for (InetSocketAddress remote : settings.remotes()) {
            try {
                v.shippers.add(Shipper.start(settings.link().apply(
                        ShipperConfig.of(remote, settings.sourceId(), v.name, size, blockSize)), v.buffer));
            } catch (IOException e) {
                throw new UncheckedIOException("shipper of volume " + v.name + " to " + remote + ": " + e.getMessage(), e);
            }
        }
        if (linkFactory != null) {
            try {
                v.links.add(linkFactory.start(v.name, size, blockSize, v.buffer));
            } catch (IOException e) {
                throw new UncheckedIOException("link of volume " + v.name + ": " + e.getMessage(), e);
            }
        }
        v.shipping = true;
        log.info("shipping volume={} sizeBytes={} blockSize={} remotes={} links={}", v.name, size, blockSize,
                settings.remotes().size(), v.links.size());
        onShipping.accept(new ShippingVolume(v.name, v.buffer, List.copyOf(v.shippers), size));
    }

    private void sync(Volume v) {
        if (v.buffer.failure().isEmpty()) {
            try {
                v.buffer.sync();
                return;
            } catch (IOException e) {
                if (v.buffer.failure().isEmpty()) {
                    throw new UncheckedIOException("sync of volume " + v.name + ": " + e.getMessage(), e);
                }
            }
        }
        // A failed fsync failed this buffer until restart (status shows why): a retry could falsely
        // succeed, so none is made. Capture goes on for the replicas (the host is not ours to fail);
        // the restart tracks every chunk and a resync heals what a power cut may take meanwhile.
        if (!v.failureReported) {
            v.failureReported = true;
            log.error("capture buffer failed, records are no longer made durable until the snoop is restarted"
                    + " (the restart resyncs every chunk) volume={} reason={}", v.name, v.buffer.failure());
        }
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
        for (Volume v : volumes.values()) {
            if (ships() && !v.shipping) {
                out.add(v.name);
            }
        }
        return out;
    }

    /**
     * Each volume's buffer directory with the status of its shippers (empty while none runs), for
     * the {@code link-status.json} file that {@code tapline status} reads.
     */
    public synchronized Map<Path, List<ShipperStatus>> linkStatuses() {
        Map<Path, List<ShipperStatus>> out = new LinkedHashMap<>();
        for (Volume v : volumes.values()) {
            List<ShipperStatus> links = new ArrayList<>();
            for (Shipper s : v.shippers) {
                links.add(s.status());
            }
            for (VolumeLink l : v.links) {
                links.add(l.status());
            }
            out.put(settings.bufferDir().resolve(v.name), links);
        }
        return out;
    }

    /**
     * One volume's shipping progress: its newest captured sequence and a status snapshot of each
     * of its shippers (empty while none runs).
     */
    public record ShippingProgress(String volume, long lastSequence, List<ShipperStatus> links) {
    }

    /** Every volume's shipping progress, in the order volumes were first seen. */
    public synchronized List<ShippingProgress> shippingProgress() {
        List<ShippingProgress> out = new ArrayList<>();
        for (Volume v : volumes.values()) {
            List<ShipperStatus> links = new ArrayList<>();
            for (Shipper s : v.shippers) {
                links.add(s.status());
            }
            for (VolumeLink l : v.links) {
                links.add(l.status());
            }
            out.add(new ShippingProgress(v.name, v.buffer.lastSequence(), List.copyOf(links)));
        }
        return out;
    }

    /** The buffer of a volume by name (for tests and status), or null. */
    public synchronized CaptureBuffer buffer(String name) {
        for (Volume v : volumes.values()) {
            if (v.name.equals(name)) {
                return v.buffer;
            }
        }
        return null;
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (Volume v : volumes.values()) {
            for (Shipper s : v.shippers) {
                try {
                    s.close();
                } catch (Exception e) {
                    log.error("shipper close failed volume={} error={}", v.name, e.toString());
                }
            }
            for (VolumeLink l : v.links) {
                try {
                    l.close();
                } catch (IOException | RuntimeException e) {
                    log.error("link close failed volume={} error={}", v.name, e.toString());
                }
            }
            try {
                v.buffer.sync();
                v.buffer.close();
            } catch (IOException e) {
                log.error("buffer close failed volume={} error={}", v.name, e.toString());
            }
        }
    }
}
