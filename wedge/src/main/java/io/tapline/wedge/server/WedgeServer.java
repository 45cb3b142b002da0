package io.tapline.wedge.server;

import io.tapline.log.ExclusiveLock;
import io.tapline.log.volume.BlockVolume;
import io.tapline.log.volume.PageCachePolicy;
import io.tapline.log.volume.VolumeFile;
import io.tapline.wedge.capture.VolumeSequencer;
import io.tapline.wedge.capture.WriteCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The wedge: an NBD server (fixed newstyle, simple replies) in front of a primary volume file,
 * capturing every write-nature command into a {@code CaptureSink} through one per-volume
 * {@link VolumeSequencer}, which states the ordering and durability contract.
 *
 * <pre>
 * WedgeServer server = WedgeServer.start(WedgeConfig.of(
 *         new InetSocketAddress("127.0.0.1", 10809), "vol1", Path.of("/srv/primary.img"), 4L << 30,
 *         CaptureSink.of(captureBuffer)));
 * ...
 * server.close();   // finishes in-flight requests, syncs the sink and the volume
 * </pre>
 *
 * <p>{@link #start(WedgeConfig)} listens on its own {@link NbdEndpoint} and serves one export
 * there; {@link #start(WedgeConfig, NbdEndpoint)} serves the export on a shared endpoint
 * instead, replacing a standby export of the same name (failover). {@link #standby} fences the
 * export: from then on data commands get EPERM, and the call returns once no write is in flight.
 *
 * <p>Uses epoll when available, NIO otherwise; TCP_NODELAY on every connection. Thread-safe;
 * {@link #close()} is idempotent. The server opens and closes the primary volume, holding an
 * {@link ExclusiveLock} on {@code VOLUME.lock} meanwhile (a second wedge on the volume is
 * refused); it never closes the capture sink, nor a shared endpoint.
 */
public final class WedgeServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WedgeServer.class);
    /** Next to the volume, {@code VOLUME.lock}: held while a wedge serves it, one writer per volume. */
    static final String LOCK_SUFFIX = ".lock";

    private final WedgeConfig config;
    private final BlockVolume primary;
    private final VolumeSequencer sequencer;
    private final ExecutorService readers;
    private final Export export;
    private final NbdEndpoint endpoint;
    /** Whether the endpoint is this wedge's own (closed with it) or shared (left open). */
    private final boolean ownsEndpoint;
    private final ExclusiveLock volumeLock;
    private boolean closed;

    private WedgeServer(WedgeConfig config, BlockVolume primary, NbdEndpoint endpoint, boolean ownsEndpoint,
            ExclusiveLock volumeLock) {
        this.config = config;
        this.primary = primary;
        this.endpoint = endpoint;
        this.ownsEndpoint = ownsEndpoint;
        this.volumeLock = volumeLock;
        this.sequencer = VolumeSequencer.start(config.exportName(), primary, config.captureSink());
        this.readers = Executors.newFixedThreadPool(config.readThreads(), daemonThreads("wedge-read-" + config.exportName()));
        this.export = Export.served(config.exportName(), primary, sequencer, readers,
                config.maxInFlightBytesPerConnection());
    }

    /**
     * Opens (creating sparse if missing) the primary volume and starts serving it on its own
     * listener at {@code config.listenAddress()}.
     *
     * @throws io.tapline.log.volume.VolumeSizeMismatchException when the volume exists with another size
     * @throws IOException when the volume cannot be opened or the address cannot be bound
     */
    public static WedgeServer start(WedgeConfig config) throws IOException {
        return start(config, null, true, VolumeFile::openOrCreate);
    }

    /** Opens the volume a wedge serves: its path and size come from the {@link WedgeConfig}. */
    @FunctionalInterface
    public interface VolumeOpener {
        /** Opens (creating when missing) the volume at {@code path} with {@code sizeBytes}. */
        BlockVolume open(Path path, long sizeBytes) throws IOException;
    }

    /**
     * As {@link #start(WedgeConfig)} or {@link #start(WedgeConfig, NbdEndpoint)} (with a non-null
     * {@code shared}), serving the volume {@code opener} opens instead of a plain image file (cycle
     * mode's layered volume). The volume is closed with the server.
     */
    public static WedgeServer start(WedgeConfig config, NbdEndpoint shared, VolumeOpener opener) throws IOException {
        return start(config, shared, shared == null, Objects.requireNonNull(opener, "opener"));
    }

    /**
     * Opens (creating sparse if missing) the primary volume and serves it as an export of a
     * shared {@code endpoint}; {@code config.listenAddress()}, {@code ioThreads} and
     * {@code handshakeTimeout} are the endpoint's business then and ignored. A standby export of
     * the same name is replaced (its connections are closed). {@link #close()} leaves the
     * endpoint open.
     *
     * @throws io.tapline.log.volume.VolumeSizeMismatchException when the volume exists with another size
     * @throws IOException when the volume cannot be opened
     * @throws IllegalStateException when another wedge serves that name on the endpoint, or it is closed
     */
    public static WedgeServer start(WedgeConfig config, NbdEndpoint endpoint) throws IOException {
        return start(config, Objects.requireNonNull(endpoint, "endpoint"), false, VolumeFile::openOrCreate);
    }

    private static WedgeServer start(WedgeConfig config, NbdEndpoint shared, boolean ownsEndpoint,
            VolumeOpener opener) throws IOException {
        Path volume = config.volumePath();
        ExclusiveLock lock = ExclusiveLock.acquire(volume.resolveSibling(volume.getFileName() + LOCK_SUFFIX),
                "volume", volume);
        boolean created = !Files.exists(volume);
        try {
            BlockVolume primary = opener.open(volume, config.volumeSizeBytes());
            try {
                // An own endpoint listens only once the export is in it: no client sees "unknown export".
                NbdEndpoint endpoint = ownsEndpoint ? NbdEndpoint.create(config.listenAddress(), config.ioThreads(),
                        config.handshakeTimeout()) : shared;
                try {
                    WedgeServer server = new WedgeServer(config, primary, endpoint, ownsEndpoint, lock);
                    server.attach();
                    if (ownsEndpoint) {
                        try {
                            endpoint.listen();
                        } catch (IOException | RuntimeException e) {
                            server.abortStart(); // the volume and its lock are closed below
                            throw e;
                        }
                    }
                    return server;
                } catch (RuntimeException e) {
                    if (ownsEndpoint) {
                        endpoint.close();
                    }
                    throw e;
                }
            } catch (IOException | RuntimeException e) {
                primary.close();
                if (created) {
                    Files.deleteIfExists(volume); // A start that failed (e.g. address in use) leaves no new volume.
                }
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    private void attach() {
        try {
            endpoint.attach(export);
        } catch (RuntimeException e) {
            try {
                stopSequencerAndReaders();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        log.info("wedge serving address={} export={} volume={} sizeBytes={} sharedEndpoint={}", boundAddress(),
                config.exportName(), config.volumePath(), config.volumeSizeBytes(), !ownsEndpoint);
    }

    /** The address clients connect to: the wedge's own listener, or the shared endpoint's. */
    public InetSocketAddress boundAddress() {
        return endpoint.boundAddress();
    }

    /**
     * Queues an administrator's command (a MARK) behind every write submitted before it, so that
     * it is ordered with the host's writes; {@code command.listener()} hears when it is durable.
     * Not affected by {@link #standby}: only the host's commands are fenced.
     */
    public void submit(WriteCommand command) {
        sequencer.submit(command);
    }

    /** The configuration this wedge was started with. */
    public WedgeConfig config() {
        return config;
    }

    /**
     * Runs {@code action} at a quiescent point of the volume's sequence (see
     * {@link VolumeSequencer#atQuiescentPoint}): a resync reads the primary there with
     * {@link #readPrimary} and appends what it read, ordered exactly between the host's writes.
     */
    public <T> T atQuiescentPoint(VolumeSequencer.QuiescentAction<T> action) throws IOException, InterruptedException {
        return sequencer.atQuiescentPoint(action);
    }

    /** The wedge's own writes to the primary so far ({@link VolumeSequencer#primaryWrites}). */
    public VolumeSequencer.PrimaryWrites primaryWrites() {
        return sequencer.primaryWrites();
    }

    /** Whether the primary holds no data in the range (a hole: reads as zeros); false when unknown. */
    public boolean primaryHole(long offsetBytes, long lengthBytes) {
        return primary.isHole(offsetBytes, lengthBytes);
    }

    /**
     * Reads the primary volume for a scan (a resync's comparison, a verify: {@link BlockVolume#readForScan},
     * without readahead); positional, thread-safe; unordered with in-flight writes unless quiesced.
     */
    public void readPrimary(long offsetBytes, ByteBuffer dst) throws IOException {
        primary.readForScan(offsetBytes, dst);
    }

    /**
     * Fences the export: from this call on, every new data command (READ, WRITE, TRIM,
     * WRITE_ZEROES, FLUSH, CACHE) of the host gets EPERM, as on a standby export ("not promoted:
     * {@code reason}" in the log); DISC still works and connections stay open. Writes accepted
     * before complete normally. Returns once every accepted write is applied to the primary and
     * answered (waiting at most the configured shutdown timeout for the answers), so nothing the
     * host sends changes the primary afterwards. The volume stays open until {@link #close()}.
     * Calling it again only changes the reason.
     */
    public synchronized void standby(String reason) {
        export.standby(reason);
        log.info("wedge fenced, data commands get EPERM from now on export={} reason={}", config.exportName(), reason);
        if (closed) {
            return;
        }
        awaitQuiescentPoint();
        if (!awaitIdle()) {
            log.warn("standby: answers still pending after the shutdown timeout, the primary no longer changes"
                    + " export={} timeout={}", config.exportName(), config.shutdownTimeout());
        }
    }

    /** Whether {@link #standby} was called: the export refuses data commands. */
    public boolean isStandby() {
        return export.standbyReason() != null;
    }

    /** Undoes a start whose own endpoint could not listen: no client ever connected. */
    private synchronized void abortStart() throws IOException {
        closed = true;
        endpoint.detach(export);
        try {
            stopSequencerAndReaders();
        } finally {
            endpoint.close();
        }
    }

    /**
     * What the primary does with the pages its writes dirty ({@code --primary-cache};
     * {@link VolumeFile#usePageCachePolicy}).
     *
     * @return false when this platform cannot (the primary keeps its policy)
     */
    public boolean usePrimaryPageCachePolicy(PageCachePolicy policy) {
        return primary.usePageCachePolicy(policy);
    }

    /**
     * Graceful stop: stops offering the export (an own listener stops accepting connections),
     * stops reading requests, waits (up to the configured shutdown timeout) until every accepted
     * request was answered, closes the export's connections, then makes the capture sink and the
     * primary durable and closes the primary. A shared endpoint stays open.
     */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (ownsEndpoint) {
            endpoint.stopAccepting();
        }
        endpoint.detach(export);
        export.connections.stopReading();
        if (!awaitIdle()) {
            log.warn("shutdown timeout with requests in flight export={} timeout={}", config.exportName(),
                    config.shutdownTimeout());
        }
        export.connections.closeAll();
        try {
            try {
                stopSequencerAndReaders();
            } finally {
                if (ownsEndpoint) {
                    endpoint.close();
                }
                primary.close();
            }
        } finally {
            volumeLock.close();
        }
        log.info("wedge closed export={}", config.exportName());
    }

    /** Waits until every accepted write is applied: submitted before this call means queued before the marker. */
    private void awaitQuiescentPoint() {
        CountDownLatch reached = new CountDownLatch(1);
        boolean interrupted = false;
        try {
            sequencer.atQuiescentPoint(() -> {
                reached.countDown();
                return null;
            });
        } catch (InterruptedException e) {
            interrupted = true; // The action is queued all the same; wait for it below.
        } catch (IOException e) {
            // Only a closed sequencer fails here, and close() cannot run while this monitor is held.
            throw new UncheckedIOException("standby: sequencer refused a quiescent point export="
                    + config.exportName(), e);
        }
        while (true) {
            try {
                reached.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Polls, up to the shutdown timeout, until no connection of the export has a request in flight. */
    private boolean awaitIdle() {
        Duration timeout = config.shutdownTimeout();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!export.connections.idle() && System.nanoTime() < deadline) {
            // Poll with a deadline: in-flight counts live on several event loops.
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        return export.connections.idle();
    }

    private void stopSequencerAndReaders() throws IOException {
        try {
            sequencer.close();
        } finally {
            readers.shutdown();
            awaitTermination(readers);
        }
    }

    private static void awaitTermination(ExecutorService pool) {
        boolean interrupted = false;
        while (true) {
            try {
                if (pool.awaitTermination(10, TimeUnit.SECONDS)) {
                    break;
                }
                log.warn("read threads still busy after 10 s, waiting");
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** The most READ reply bytes the export ever held at once (taken, not yet sent): bounded per connection. */
    long readReplyBytesPeak() {
        return export.readReplyBytesPeak.get();
    }
}
