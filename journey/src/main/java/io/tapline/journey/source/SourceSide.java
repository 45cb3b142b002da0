package io.tapline.journey.source;

import io.tapline.journey.resync.ResyncEngine;
import io.tapline.journey.shipper.Shipper;
import io.tapline.journey.shipper.ShipperConfig;
import io.tapline.journey.shipper.ShipperStatus;
import io.tapline.log.BackgroundStop;
import io.tapline.log.buffer.BufferConfig;
import io.tapline.log.buffer.CaptureBuffer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source side of one volume, the same for the wedge and the snoop: its {@link CaptureBuffer}
 * ({@code <buffer>/<volume>}), a journey {@link Shipper} per remote and any other
 * {@link SourceLink} (Kafka), the sync cadence, the status cadence (a {@link StatusPublisher}
 * writes what {@code tapline status} reads), the volume's resync engine once there is one, and
 * {@code tapline mark} ({@link MarkSpool} over the {@link SourceSink} the capture front gives).
 * What captures into the buffer (the wedge's sequencer, the snoop's router) is the caller's.
 *
 * <p>Closing stops the cadences and the mark spool, closes what the caller handed over with
 * {@link #own} (newest first: e.g. resync, then the wedge, which drains and syncs), then the
 * shippers and links, syncs and closes the buffer, and publishes the status one last time.
 *
 * <p>Thread-safety: every method may be called from any thread. One housekeeping thread
 * ({@code tapline-source-<volume>}) runs the syncs and the status publisher.
 */
public final class SourceSide implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SourceSide.class);
    /** How often the status is published while running. */
    static final long STATUS_MILLIS = 1000;

    /**
     * Where and how a volume ships.
     *
     * @param remotes        the replayers (may be empty)
     * @param sourceId       this source's id in the journey handshake
     * @param sizeBytes      the volume's size
     * @param blockSizeBytes its logical block size
     * @param link           what each shipper's configuration adds (credential, TLS, generation)
     */
    public record Shipping(List<InetSocketAddress> remotes, String sourceId, long sizeBytes, int blockSizeBytes,
            UnaryOperator<ShipperConfig> link) {
        public Shipping {
            remotes = List.copyOf(remotes);
            Objects.requireNonNull(sourceId, "sourceId");
            Objects.requireNonNull(link, "link");
        }
    }

    private final String volume;
    private final Path volumeDir;
    private final CaptureBuffer buffer;
    private final List<Shipper> shippers = new CopyOnWriteArrayList<>();
    private final List<SourceLink> links = new CopyOnWriteArrayList<>();
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private final ScheduledExecutorService housekeeping;
    private volatile long shippedSizeBytes = -1;
    private volatile String notShippingBecause;
    private volatile ResyncEngine resync;
    private volatile StatusPublisher publisher;
    private MarkSpool marks;
    private volatile SourceSink sink;
    private volatile boolean failureReported;
    private volatile boolean closed;
    private final boolean created;

    private SourceSide(String volume, Path volumeDir, CaptureBuffer buffer, boolean created) {
        this.created = created;
        this.volume = volume;
        this.volumeDir = volumeDir;
        this.buffer = buffer;
        this.housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tapline-source-" + volume);
            t.setDaemon(true);
            return t;
        });
    }

    /** Opens (or creates) the buffer of {@code volume} in {@code volumeDir}. */
    public static SourceSide open(Path volumeDir, String volume, BufferConfig config) throws IOException {
        return open(volumeDir, volume, config, java.time.Clock.systemUTC());
    }

    /** As {@link #open(Path, String, BufferConfig)}, its records stamped by {@code clock} (an import's packet times). */
    public static SourceSide open(Path volumeDir, String volume, BufferConfig config, java.time.Clock clock)
            throws IOException {
        Files.createDirectories(volumeDir);
        boolean created = !Files.exists(volumeDir.resolve(CaptureBuffer.STATE_FILE));
        CaptureBuffer buffer = CaptureBuffer.open(volumeDir, volume, config, clock);
        return new SourceSide(volume, volumeDir, buffer, created);
    }

    /**
     * Whether this open made the volume's buffer: nothing was ever captured or shipped for it here,
     * so no replica holds anything of what the volume held before.
     */
    public boolean created() {
        return created;
    }

    public String volume() {
        return volume;
    }

    /** The volume's buffer directory. */
    public Path volumeDir() {
        return volumeDir;
    }

    public CaptureBuffer buffer() {
        return buffer;
    }

    /**
     * Starts a shipper per remote (their changes publish the status at once) and, with a
     * {@code factory}, one more link; once only.
     *
     * @throws IllegalStateException when the volume ships already
     */
    public synchronized void ship(Shipping s, SourceLink.Factory factory) throws IOException {
        if (shippedSizeBytes >= 0) {
            throw new IllegalStateException("volume " + volume + " ships already");
        }
        for (InetSocketAddress remote : s.remotes()) {
            ShipperConfig config = s.link().apply(
                    ShipperConfig.of(remote, s.sourceId(), volume, s.sizeBytes(), s.blockSizeBytes()));
            Shipper shipper = Shipper.startPaused(config, buffer, savedShipPause(config.cursorId()));
            shipper.onChange(this::changed);
            shippers.add(shipper);
        }
        shippedSizeBytes = s.sizeBytes();
        notShippingBecause = null;
        if (factory != null) {
            addLink(factory.start(volume, s.sizeBytes(), s.blockSizeBytes(), buffer));
        }
    }

    /**
     * Makes each shipper tell its replica, as it stops cleanly, what the source captured
     * ({@link Shipper#sayLastWordOnStop}): only for a source whose stop ends its host's writes (a
     * wedge), never a passive tap or a hop, whose hosts keep writing.
     */
    public synchronized void sayLastWordOnStop() {
        shippers.forEach(Shipper::sayLastWordOnStop);
    }

    /**
     * Where an operator's {@code tapline ship pause} of the remote with cursor {@code cursorId} is
     * kept across restarts: the file holds why.
     */
    public static Path shipPauseFile(Path volumeDir, String cursorId) {
        return volumeDir.resolve("ship-" + cursorId + ".paused");
    }

    /** The saved pause of that remote's shipping, or null. */
    private String savedShipPause(String cursorId) throws IOException {
        Path f = shipPauseFile(volumeDir, cursorId);
        return Files.exists(f) ? Files.readString(f, java.nio.charset.StandardCharsets.UTF_8).strip() : null;
    }

    /** Also ships over {@code link} (Kafka); reported and closed with the shippers. */
    public void addLink(SourceLink link) {
        link.onChange(this::changed);
        links.add(link);
        changed();
    }

    /** Whether {@link #ship} ran. */
    public boolean shipping() {
        return shippedSizeBytes >= 0;
    }

    /**
     * Says why this volume is meant to ship but cannot start yet (a snoop that never saw its
     * size), for status: a volume whose records nobody ships is never synced. Null clears it;
     * {@link #ship} clears it too.
     */
    public void notShippingBecause(String reason) {
        if (!Objects.equals(reason, notShippingBecause)) {
            notShippingBecause = reason;
            changed();
        }
    }

    /** Why the volume is meant to ship and does not, or null ({@link #notShippingBecause(String)}). */
    public String notShippingBecause() {
        return notShippingBecause;
    }

    /** The size the volume ships with, -1 before {@link #ship}. */
    public long shippedSizeBytes() {
        return shippedSizeBytes;
    }

    /** The journey shippers, one per remote (empty before {@link #ship}). */
    public List<Shipper> shippers() {
        return List.copyOf(shippers);
    }

    /** The other links ({@link #addLink}). */
    public List<SourceLink> links() {
        return List.copyOf(links);
    }

    /** A status snapshot of every shipper, then every other link. */
    public List<ShipperStatus> linkStatuses() {
        List<ShipperStatus> out = new ArrayList<>();
        for (Shipper s : shippers) {
            out.add(s.status());
        }
        for (SourceLink l : links) {
            out.add(l.status());
        }
        return out;
    }

    /** The volume's resync engine, or null (a snoop without a read path to the volume). */
    public ResyncEngine resync() {
        return resync;
    }

    /** Sets the volume's resync engine; the caller still closes it (or hands it to {@link #own}). */
    public void resync(ResyncEngine engine) {
        this.resync = engine;
    }

    /** Starts {@code tapline mark} for this volume: marks go through {@code sink}. */
    public synchronized void acceptMarks(SourceSink sink) throws IOException {
        if (marks != null) {
            throw new IllegalStateException("volume " + volume + " accepts marks already");
        }
        marks = MarkSpool.start(volumeDir, volume, sink);
        this.sink = sink;
    }

    /** The front's {@link SourceSink} given to {@link #acceptMarks}, or null before. */
    public SourceSink sink() {
        return sink;
    }

    /** Closes {@code c} when this side closes, before the shippers (newest first). */
    public synchronized <T extends AutoCloseable> T own(T c) {
        owned.push(Objects.requireNonNull(c, "c"));
        return c;
    }

    /**
     * Releases a remote whose link has been down for {@code after} when it alone holds records the
     * connected remotes acknowledged and the buffer is past a quarter of high water ({@link LaggingRemoteRelease});
     * checked once a second. Zero: never (every remote waits for the slowest, as before). Call after
     * {@link #ship}.
     */
    public void releaseLaggingRemotesAfter(Duration after) {
        if (after.isZero() || after.isNegative() || shippers.size() < 2) {
            return; // one remote: nobody else waits for it
        }
        LaggingRemoteRelease release = new LaggingRemoteRelease(buffer, shippers, after);
        housekeeping.scheduleWithFixedDelay(release, STATUS_MILLIS, STATUS_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Makes the buffer durable every {@code period}, so records ship even when capture pauses. */
    public void syncEvery(Duration period) {
        long millis = period.toMillis();
        housekeeping.scheduleWithFixedDelay(this::syncQuietly, millis, millis, TimeUnit.MILLISECONDS);
    }

    private void syncQuietly() {
        try {
            sync();
        } catch (RuntimeException e) {
            // the next round retries; a buffer that cannot sync also fails the capture's appends
            log.error("capture buffer sync failed volume={} error={}", volume, e.toString());
        }
    }

    /** Publishes the status now (initial delay 0) and about once a second, and whenever a link changes. */
    public void publishStatus(StatusPublisher p) {
        this.publisher = Objects.requireNonNull(p, "publisher");
        housekeeping.scheduleWithFixedDelay(() -> publish(true), 0, STATUS_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** The publisher given to {@link #publishStatus}, or null before. */
    public StatusPublisher statusPublisher() {
        return publisher;
    }

    /** Publishes the status now, off the caller's thread (a link changed, a cycle began). */
    public void changed() {
        if (publisher == null) {
            return;
        }
        try {
            housekeeping.execute(() -> publish(true));
        } catch (RejectedExecutionException e) {
            log.debug("status publisher stopped volume={}", volume);
        }
    }

    /** Publishes the status now on the calling thread (before a host's write is acknowledged). */
    public void publishNow() {
        StatusPublisher p = publisher;
        if (p == null || closed) {
            return; // after the stop the last publish has been written
        }
        try {
            p.publishForHost(this);
        } catch (RuntimeException e) {
            log.debug("status not published volume={} error={}", volume, e.toString());
        }
    }

    private void publish(boolean running) {
        StatusPublisher p = publisher;
        if (p == null) {
            return;
        }
        try {
            p.publish(this, running);
        } catch (RuntimeException e) {
            log.debug("status not published volume={} error={}", volume, e.toString());
        }
    }

    /**
     * Makes every record appended before the call durable; false when the buffer failed (a failed
     * fsync fails it until restart: a retry could falsely succeed, so none is made; logged once).
     * Capture goes on for the replicas; the restart tracks every chunk and a resync heals what a
     * power cut may take meanwhile.
     *
     * @throws java.io.UncheckedIOException when the sync failed without failing the buffer
     */
    public boolean sync() {
        if (buffer.failure().isEmpty()) {
            try {
                buffer.sync();
                return true;
            } catch (IOException e) {
                if (buffer.failure().isEmpty()) {
                    throw new java.io.UncheckedIOException("sync of volume " + volume + ": " + e.getMessage(), e);
                }
            }
        }
        if (!failureReported) {
            failureReported = true;
            log.error("capture buffer failed, records are no longer made durable until the source is restarted"
                    + " (the restart resyncs every chunk) volume={} reason={}", volume, buffer.failure());
        }
        return false;
    }

    @Override
    public void close() {
        List<AutoCloseable> front;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            front = new ArrayList<>(owned);
        }
        if (!BackgroundStop.awaitQuiet(housekeeping)) {
            log.warn("source housekeeping still running at close volume={}", volume);
        }
        closeQuietly(marks);
        front.forEach(SourceSide::closeQuietly);
        shippers.forEach(SourceSide::closeQuietly);
        links.forEach(SourceSide::closeQuietly);
        if (buffer.failure().isEmpty()) {
            try {
                buffer.sync();
            } catch (IOException | RuntimeException e) {
                log.error("buffer sync at close failed volume={} error={}", volume, e.toString());
            }
        }
        closeQuietly(buffer);
        publish(false); // the replicas' last reported states stay readable
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            log.error("close failed resource={} error={}", c, e.toString());
        }
    }
}
