package io.tapline.journey.shipper;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.tapline.journey.BatchFrame;
import io.tapline.journey.BatchFrameBuilder;
import io.tapline.journey.ConnectionErrorText;
import io.tapline.journey.JourneyDecoder;
import io.tapline.journey.JourneyEncoder;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocol;
import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.RecordReader;
import io.tapline.log.buffer.SequenceNotRetainedException;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ships one volume's capture buffer to one replayer over the journey link, forever: connect,
 * HELLO, resume after the replayer's WELCOME, read records, send batches with a window sized from
 * the line's bandwidth-delay product ({@link WindowSizer}), each compressed as the line's rate
 * calls for ({@link CompressionPolicy}), advance the buffer's cursor for this remote on each
 * verified ACK. On any error the connection is closed and reopened: at once (100 ms) while nobody
 * answers, so a line that returns is used within about a second; after a jittered exponential
 * backoff when a session was lost or refused. The next WELCOME says where to resume, so records
 * are re-sent, never lost (the replayer skips what it already applied).
 *
 * <p>Durability rule: a batch is sent only after the source made its records durable (the
 * shipper thread runs the buffer's group-commit sync), so a replica never holds a record that a
 * power cut could take from the source's buffer.
 *
 * <p>Resume rules, from the WELCOME's last applied sequence L: L beyond the buffer's last sequence
 * means the two do not belong together, and nothing is shipped; L before the buffer's oldest
 * record (a rollback older than the buffer) ships from the RESYNC_BEGIN of a full resync epoch,
 * asking the {@link ResyncCoordinator} for one first, unless that record is a GAP saying the
 * records before it were lost (a write-once buffer's power cut): then from the GAP, and the
 * replica, out of sync, is healed by the next epoch; L below this remote's cursor (a rollback)
 * moves the cursor back and re-sends from L + 1; L above the cursor moves it forward.
 *
 * <p>Threads: one dedicated thread ({@code tapline-ship-<volume>}) reads the buffer, packs and
 * sends batches; one event loop thread handles the socket and the ACKs (and records them in the
 * buffer). {@link #status()} and {@link #close()} may be called from any thread. Each batch is
 * built as a whole frame in a direct buffer from the channel's allocator ({@link BatchFrameBuilder}),
 * from the records' stored bytes; the channel releases it after writing it.
 */
public final class Shipper implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(Shipper.class);
    /** How long one wait on the reader or the window lasts, so close and link loss are noticed. */
    private static final long POLL_MILLIS = 100;
    /**
     * Bound on one TCP connect. A line that is down drops the SYN; the next attempt sends a fresh
     * one instead of waiting for the kernel's retransmission (1 s, then 2, 4 ... s), so the link is
     * back within about this long plus one round trip of the line's return.
     */
    static final long CONNECT_ATTEMPT_MILLIS = 1000;
    /** How often a live link tells the replayer the source's newest captured sequence. */
    private static final long HEAD_EVERY_NANOS = 1_000_000_000L;
    /** The generation the current session's replayer was told (HELLO, then CONTROLs); the shipper's thread only. */
    private long announcedGeneration;
    /**
     * {@code -Dtapline.ship.silenceTimeoutMillis}: a session in which the replayer said nothing for this
     * long (no ACK, no report, although it announced a heartbeat) ends as a link failure and
     * reconnects ({@link LinkSession#unanswered}); 0 turns it off. Default 30 s, as long as the
     * replayer waits for a silent source (three handshake timeouts).
     */
    static final String SILENCE_TIMEOUT_PROPERTY = "tapline.ship.silenceTimeoutMillis";
    static final long DEFAULT_SILENCE_TIMEOUT_MILLIS = 30_000;
    private static final long MAX_SILENCE_TIMEOUT_MILLIS = 86_400_000;

    private final ShipperConfig config;
    private final RecordSource source;
    private final String remoteId;
    /** Where the next connection goes: the configured remote until an operator retargets it. */
    private volatile InetSocketAddress target;
    private final String cursorId;
    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    private final Thread thread;
    private final CountDownLatch closing = new CountDownLatch(1);
    private final AtomicLong lastSent = new AtomicLong();
    private final AtomicLong lastAcked = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private volatile boolean closed;
    private volatile LinkSession session;
    private volatile boolean connected;
    /** When the link last went down (or the shipper started without one); meaningless while connected. */
    private volatile long downSinceNanos = System.nanoTime();
    private volatile String lastError = "";
    private volatile io.tapline.journey.control.ReplicaStateReport replica;
    private volatile ResyncCoordinator resync = ResyncCoordinator.NONE;
    private volatile Runnable onChange = () -> { };
    private final java.util.List<java.util.function.Consumer<InetSocketAddress>> onRetarget =
            new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile String paused = "";
    private String lastLoggedError;
    private long nextBatchId = 1;
    private final CompressionPolicy compression = new CompressionPolicy();
    /** Shipper thread: when the batch being filled stops waiting for more records. */
    private final BatchFill fill = BatchFill.fromProperties();
    /** The frame being filled (the shipper's thread only). */
    private final BatchFrameBuilder frame = new BatchFrameBuilder();
    private final byte[] volumeIdUtf8;
    private final WindowSizer windowSizer;
    /** Mean compressed size of the batches sent (exponentially weighted); 0 before the first. */
    private double meanWireBatchBytes;
    private volatile io.tapline.journey.CompressionChoice lastCompression = io.tapline.journey.CompressionChoice.LZ4;
    private volatile int lastWindow;
    private volatile long lastLineRate = -1;
    private final AckRecorder ackRecorder;
    /** Sessions opened so far (the shipper's thread only); ACKs are recorded for the newest. */
    private long sessions;
    /** How long the replayer may say nothing (it announced a heartbeat) before the session ends; 0: forever. */
    private final long silenceTimeoutNanos;
    /** How long sent records have waited for an ACK with a session up ({@link #stalledForNanos}). */
    private final StallClock stall = new StallClock();
    /** Whether the stall now under way was logged (the shipper's thread). */
    private boolean stallLogged;

    private Shipper(ShipperConfig config, RecordSource source, long silenceTimeoutNanos) {
        this.config = config;
        this.source = source;
        this.remoteId = config.remoteId();
        this.target = config.remote();
        this.cursorId = config.cursorId();
        this.windowSizer = new WindowSizer(config.maxInFlightBatches());
        this.silenceTimeoutNanos = silenceTimeoutNanos;
        this.volumeIdUtf8 = config.volumeId().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        this.ackRecorder = new AckRecorder(config.volumeId(), seq -> source.acknowledge(cursorId, seq), reason -> {
            LinkSession s = session;
            if (s != null) {
                s.fail(reason);
            }
        });
        this.group = io.tapline.journey.NettyTransport.newGroup(1, "tapline-link-" + config.volumeId());
        this.bootstrap = io.tapline.journey.NettyTransport.detectingDeadPeers(new Bootstrap().group(group)
                .channel(io.tapline.journey.NettyTransport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                        (int) Math.min(CONNECT_ATTEMPT_MILLIS, config.handshakeTimeout().toMillis())));
        this.thread = new Thread(this::run, "tapline-ship-" + config.volumeId());
        this.thread.setDaemon(true);
    }

    /**
     * Registers the remote in {@code buffer} (cursor {@link ShipperConfig#cursorId()}) and starts
     * shipping to it in the background.
     *
     * @throws IOException when the remote cannot be registered in the buffer
     */
    public static Shipper start(ShipperConfig config, CaptureBuffer buffer) throws IOException {
        return start(config, new BufferRecordSource(buffer));
    }

    /**
     * {@link #start(ShipperConfig, CaptureBuffer)}, paused from the start for {@code pausedBecause}
     * (an operator's saved {@code ship pause}): no session is opened, so not one record reaches a
     * replica that was paused before a restart. Null or blank: not paused.
     */
    public static Shipper startPaused(ShipperConfig config, CaptureBuffer buffer, String pausedBecause)
            throws IOException {
        RecordSource source = new BufferRecordSource(buffer);
        return start(config, source, silenceTimeoutNanos(), pausedBecause);
    }

    static Shipper start(ShipperConfig config, RecordSource source) throws IOException {
        return start(config, source, silenceTimeoutNanos());
    }

    private static long silenceTimeoutNanos() {
        return TimeUnit.MILLISECONDS.toNanos(io.tapline.log.BoundedProperty.read(
                SILENCE_TIMEOUT_PROPERTY, DEFAULT_SILENCE_TIMEOUT_MILLIS, MAX_SILENCE_TIMEOUT_MILLIS, "milliseconds"));
    }

    /** {@link #start(ShipperConfig, RecordSource)} with a silence timeout of its own (0: none). */
    static Shipper start(ShipperConfig config, RecordSource source, long silenceTimeoutNanos) throws IOException {
        return start(config, source, silenceTimeoutNanos, null);
    }

    private static Shipper start(ShipperConfig config, RecordSource source, long silenceTimeoutNanos,
            String pausedBecause) throws IOException {
        source.registerRemote(config.cursorId());
        Shipper shipper = new Shipper(config, source, silenceTimeoutNanos);
        shipper.lastAcked.set(source.acknowledged(config.cursorId()));
        shipper.lastSent.set(shipper.lastAcked.get());
        if (pausedBecause != null && !pausedBecause.isBlank()) {
            shipper.paused = pausedBecause;
            shipper.lastError = "shipping paused: " + pausedBecause;
            log.warn("shipping paused volume={} remote={} why={} (saved before this start)", config.volumeId(),
                    shipper.remoteId, pausedBecause);
        }
        shipper.thread.start();
        log.debug("shipper started {}", config);
        return shipper;
    }

    /** The configuration this shipper runs with. */
    public ShipperConfig config() {
        return config;
    }

    /**
     * A snapshot of the link. Connected means delivering: not while records sent have waited
     * longer than {@link #stalledForNanos stall limit} for any acknowledgment, whatever sessions
     * came up meanwhile ({@code lastError} then says so).
     */
    public ShipperStatus status() {
        InetSocketAddress t = target;
        long stalled = connected ? stalledForNanos(System.nanoTime()) : 0;
        return new ShipperStatus(cursorId, t == config.remote() ? remoteId : hostPort(t), connected && stalled == 0,
                lastSent.get(), lastAcked.get(), reconnects.get(), stalled == 0 ? lastError : stallReason(stalled),
                replica);
    }

    /**
     * How long records sent have waited for an acknowledgment, with a session up (this one's and
     * earlier ones' time since the last ACK that moved on), while that is longer than the stall
     * limit, twice the silence timeout and at least 60 s: the oldest batch waiting is at the front
     * of the stream, and a full batch (4 MiB) crosses a line of 0.7 Mbit/s within it; a replayer that
     * applies acknowledges every group. 0 otherwise, and with the silence timeout off.
     */
    long stalledForNanos(long nowNanos) {
        if (silenceTimeoutNanos <= 0 || lastSent.get() <= lastAcked.get()) {
            return 0;
        }
        long waited = stall.waitedNanos(nowNanos, connected);
        return waited > Math.max(2 * silenceTimeoutNanos, minStallNanos) ? waited : 0;
    }

    /** {@code -Dtapline.ship.minStallMillis} (default 60000): the stall limit's floor, lower in tests. */
    private final long minStallNanos = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(
            Long.getLong("tapline.ship.minStallMillis", 60_000));

    private String stallReason(long stalledNanos) {
        return "link stalled: no batch acknowledged for "
                + java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(stalledNanos) + " s while seq "
                + (lastAcked.get() + 1) + ".." + lastSent.get() + " were sent (again after each of "
                + stall.reconnectsSince(reconnects.get()) + " reconnections since), although the replayer answers:"
                + " the path may carry small packets but not large ones (an MTU mismatch: check the path's MTU),"
                + " or the replayer is not applying";
    }

    /** The replica's state as last reported by the replayer; null until a session reported it. */
    public io.tapline.journey.control.ReplicaStateReport replicaState() {
        return replica;
    }

    /**
     * Stops shipping to this remote (like {@code drbdadm disconnect}) for {@code why}: the session
     * is closed and no new one is opened until {@link #resume}; the buffer keeps the records
     * (it may fill and turn to tracking chunks, as during any link outage).
     */
    public void pause(String why) {
        paused = why == null || why.isBlank() ? "paused" : why;
        lastError = "shipping paused: " + paused;
        LinkSession s = session;
        if (s != null) {
            s.fail("shipping paused: " + paused);
        }
        onChange.run();
        log.warn("shipping paused volume={} remote={} why={}", config.volumeId(), remoteId, paused);
    }

    /**
     * A cascade hop's node may learn a newer generation while its session is open (its upstream
     * was promoted): the next replica must learn it too, or a later promotion there could start a
     * generation some other primary already has.
     */
    private void announceNewerGeneration(LinkSession s) {
        long generation = config.generation().getAsLong();
        if (generation > announcedGeneration) {
            s.sendControl(new io.tapline.journey.control.SourceGeneration(generation));
            announcedGeneration = generation;
        }
    }

    /**
     * The handshake's proof of one shared history: the replica's last applied record must be this
     * source's record of that sequence (same CRC-32C). If it is not (another source wrote it, e.g.
     * with a sniffed secret while this one was down), the replica is told it diverged: it marks
     * itself out of sync with no consistent point and the next resync compares the whole volume.
     * Never skipped over. Records the buffer no longer holds, or an unknown CRC, cannot be checked.
     */
    private void checkHistory(LinkSession s, io.tapline.journey.control.ReplicaStateReport report)
            throws IOException, InterruptedException {
        historyVerdict = checkedHistory(s, report);
        onChange.run();
    }

    private HistoryVerdict checkedHistory(LinkSession s, io.tapline.journey.control.ReplicaStateReport report)
            throws IOException, InterruptedException {
        long seq = report.lastApplied();
        if (report.lastRecordCrc() < 0 || seq < 1 || seq < source.firstSequence() || seq > source.lastSequence()) {
            return HistoryVerdict.NOT_CHECKABLE;
        }
        CaptureRecord mine;
        try (RecordReader r = source.openReader(seq)) {
            mine = r.next(1000);
        } catch (SequenceNotRetainedException e) {
            return HistoryVerdict.NOT_CHECKABLE; // acknowledged and deleted meanwhile: nothing left to compare with
        }
        if (mine == null || mine.sequence() != seq) {
            return HistoryVerdict.NOT_CHECKABLE;
        }
        long myCrc = mine.crc32c() & 0xFFFFFFFFL;
        if (myCrc == report.lastRecordCrc()) {
            return HistoryVerdict.SHARED;
        }
        String why = String.format("diverged: the replica's record at seq %d is not this source's (crc32c %08x,"
                + " expected %08x): another source wrote it; a whole-volume resync heals it", seq,
                report.lastRecordCrc(), myCrc);
        log.error("volume={} remote={} {}", config.volumeId(), remoteId, why);
        s.sendControl(new io.tapline.journey.control.SourceDiverged(seq, why));
        return HistoryVerdict.DIVERGED;
    }

    /** What the current session's history check found (a replica with no record yet: NOT_CHECKABLE). */
    public enum HistoryVerdict { NOT_CHECKED, SHARED, DIVERGED, NOT_CHECKABLE }

    private volatile HistoryVerdict historyVerdict = HistoryVerdict.NOT_CHECKED;

    /**
     * What the current session's check of one shared history found: NOT_CHECKED until the
     * replica's first report after the handshake was compared (an import that ends before would
     * take a replica holding another capture's records for one holding this one's).
     */
    public HistoryVerdict historyVerdict() {
        return historyVerdict;
    }

    /**
     * Sends from now on to {@code address} (an operator corrected a wrong remote address on the
     * running process): the current session, if any, ends and the next connection goes there
     * (after the current back-off, at most the configured maximum). The cursor, and the name status shows, stay those of the configured remote.
     */
    public void retarget(InetSocketAddress address) {
        InetSocketAddress old = target;
        target = java.util.Objects.requireNonNull(address, "address");
        LinkSession s = session;
        if (s != null) {
            s.fail("retargeted from " + hostPort(old) + " to " + hostPort(address));
        }
        onChange.run();
        onRetarget.forEach(l -> l.accept(address));
        log.warn("shipping retargeted volume={} remote={} from={} to={}", config.volumeId(), remoteId, hostPort(old),
                hostPort(address));
    }

    /** Where the shipper connects (the configured remote unless retargeted). */
    public InetSocketAddress target() {
        return target;
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    /** Lets the shipper connect again after {@link #pause}. */
    public void resume() {
        if (!paused.isEmpty()) {
            paused = "";
            lastError = "";
            onChange.run();
            log.info("shipping resumed volume={} remote={}", config.volumeId(), remoteId);
        }
    }

    /** Why shipping is paused, or empty. */
    public String paused() {
        return paused;
    }

    /** Whether a session is open now. */
    public boolean connected() {
        return connected;
    }

    /** How long the link has been down (since the last session ended, or since start), 0 while it is up. */
    public long downForMillis() {
        return connected ? 0 : java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - downSinceNanos);
    }

    /** The cursor id of this remote in the capture buffer. */
    public String cursorId() {
        return cursorId;
    }

    /**
     * Runs {@code listener} (on a link thread: it must not block) whenever the link goes up or down
     * or the replica reports a new state, so that status files can be rewritten at once rather
     * than at their next tick (a stale "connected, consistent" after a rollback would be a lie).
     */
    public void onChange(Runnable listener) {
        this.onChange = java.util.Objects.requireNonNull(listener, "listener");
    }

    /**
     * Runs {@code listener} with the new address after every {@link #retarget} (on the caller's
     * thread), so that what names the link by its address (metrics' labels) can follow it.
     */
    public void onRetarget(java.util.function.Consumer<InetSocketAddress> listener) {
        onRetarget.add(java.util.Objects.requireNonNull(listener, "listener"));
    }

    /** Sets who starts a resync when the replica cannot continue (default: nobody). */
    public void resyncCoordinator(ResyncCoordinator coordinator) {
        this.resync = java.util.Objects.requireNonNull(coordinator, "coordinator");
    }

    /** Sends a control message on the open session; false when no session is open. */
    public boolean sendControl(io.tapline.journey.control.ControlMessage message) {
        LinkSession s = session;
        if (s == null || !connected || !s.alive()) {
            return false;
        }
        s.sendControl(message);
        return true;
    }

    /**
     * Sends a chunk-hash request on the open session; the reply completes the future (exceptionally
     * when the session ends first or none is open).
     */
    public java.util.concurrent.CompletableFuture<io.tapline.journey.control.ChunkHashReply> requestHashes(
            io.tapline.journey.control.ChunkHashRequest request) {
        LinkSession s = session;
        if (s == null || !connected || !s.alive()) {
            return java.util.concurrent.CompletableFuture.failedFuture(
                    new IOException("link to " + remoteId + " is down"));
        }
        return s.requestHashes(request);
    }

    /** Stops shipping: closes the link, waits for the shipping thread, releases the event loop. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closing.countDown();
        LinkSession s = session;
        if (s != null) {
            if (lastWordOnStop && s.alive()) {
                sayStopping(s);
            }
            s.fail("shipper closed");
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        ackRecorder.close(); // the ACKs received are in the cursor before the buffer may close
        log.info("shipper stopped volume={} remote={} lastAcked={}", config.volumeId(), remoteId, lastAcked.get());
    }

    /**
     * The source's last word to its replica, after every batch this session sent: what it captured
     * and what no record carries. A promotion without --force requires it (SourceStopping); behind a
     * slow line the close may drop it with the queued batches, and the replica then cannot call
     * itself complete.
     */
    private void sayStopping(LinkSession s) {
        try {
            long unshipped = resync.unshippedChanges();
            s.sendLastAndFinish(new io.tapline.journey.control.SourceStopping(source.lastSequence(), unshipped,
                    System.currentTimeMillis()), LAST_WORD_MILLIS);
        } catch (RuntimeException e) {
            log.debug("volume={} remote={} stopping word not sent: {}", config.volumeId(), remoteId, e.toString());
        }
    }

    /** How long a clean stop waits for its last word to be written and the replayer to close after it. */
    private static final long LAST_WORD_MILLIS = 2_000;

    /** Whether {@link #close} tells the replica what the source captured ({@link #sayLastWordOnStop}). */
    private volatile boolean lastWordOnStop;

    /**
     * Makes a clean stop send the replica the source's last word (CONTROL SourceStopping), which a
     * promotion without --force requires. Only for a source whose stop ends its host's writes: a
     * snoop's target and a hop's upstream keep writing after they stop (probe s62 AF D2: a snoop's
     * word let a plain promote lose a write the target acknowledged later).
     */
    public void sayLastWordOnStop() {
        lastWordOnStop = true;
    }

    private void run() {
        try {
            ship();
        } finally {
            frame.close(); // the frames it kept for reuse
        }
    }

    private void ship() {
        Backoff backoff = new Backoff(config.minBackoff(), config.maxBackoff());
        while (!closed) {
            if (!paused.isEmpty()) {
                try {
                    closing.await(POLL_MILLIS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                continue;
            }
            String reason;
            long delay;
            try {
                reason = runSession(backoff);
                delay = backoff.nextMillis();
            } catch (LinkUnreachableException e) {
                // Nobody answered: nothing to spare from retrying, and each attempt in a backoff
                // sleep is time the returned line stays unused. Retry at the shortest delay.
                reason = e.getMessage();
                delay = config.minBackoff().toMillis();
            } catch (IOException | RuntimeException e) {
                reason = ConnectionErrorText.describe(e, LinkSession.REPLAYER);
                delay = backoff.nextMillis();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (closed) {
                return;
            }
            if (!paused.isEmpty()) {
                continue; // not a link failure: the operator asked for it
            }
            linkDown(reason);
            try {
                closing.await(delay, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** One connection, from connect to loss; returns why it ended. */
    private String runSession(Backoff backoff) throws IOException, InterruptedException {
        historyVerdict = HistoryVerdict.NOT_CHECKED; // this session's replica is checked anew
        java.util.concurrent.atomic.AtomicReference<io.tapline.journey.control.ReplicaStateReport> firstReport =
                new java.util.concurrent.atomic.AtomicReference<>();
        long sessionNumber = ++sessions;
        LinkSession s = new LinkSession(config.maxInFlightBatches(), seq -> acked(sessionNumber, seq), report -> {
            firstReport.compareAndSet(null, report);
            io.tapline.journey.control.ReplicaStateReport before = replica;
            replica = report;
            if (before == null || !before.state().equals(report.state())) {
                onChange.run();
            }
        });
        session = s;
        if (closed) {
            return "shipper closed";
        }
        ChannelFuture connect = bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                if (config.tls() != null) {
                    ch.pipeline().addLast(config.tls().clientHandler(ch.alloc(), target, config.handshakeTimeout()));
                }
                ch.pipeline().addLast(new JourneyDecoder(), new JourneyEncoder(), s);
            }
        }).connect(target);
        if (!connect.await(CONNECT_ATTEMPT_MILLIS + 1000)) {
            connect.channel().close();
            throw new LinkUnreachableException("connect " + hostPort(target) + ": timed out");
        }
        if (!connect.isSuccess()) {
            throw new LinkUnreachableException("connect " + hostPort(target) + ": " + connectFailure(connect.cause()));
        }
        if (java.util.Objects.equals(connect.channel().localAddress(), connect.channel().remoteAddress())) {
            // TCP's simultaneous open: a local replayer's port inside the ephemeral range, nothing listening, and
            // the kernel gave this socket that very port. Held, it kept the replayer from binding at its next
            // start (probe s62 AE: "Address already in use"); closed at once, the replayer can start.
            connect.channel().close();
            throw new LinkUnreachableException("connect " + hostPort(target) + ": nothing listens there (the connection"
                    + " reached itself: the port is in this host's ephemeral range, net.ipv4.ip_local_port_range;"
                    + " choose a replayer port outside it)");
        }
        s.attach(connect.channel());
        long upAtNanos = 0; // when the session came up (0: it never did), and what was acknowledged then
        long ackedAtUp = 0;
        try {
            long generation = config.generation().getAsLong();
            connect.channel().writeAndFlush(new JourneyMessage.Hello(JourneyProtocol.VERSION, config.sourceId(),
                    config.volumeId(), config.volumeSizeBytes(), config.blockSizeBytes(), config.credential(),
                    generation));
            long lastApplied = s.awaitWelcome(config.handshakeTimeout().toMillis());
            announcedGeneration = generation;
            long ackedBeforeResume = lastAcked.get();
            long resumeAfter = resumePoint(s, lastApplied);
            if (resumeAfter < 0) {
                return s.failureReason();
            }
            upAtNanos = System.nanoTime();
            stall.sessionUp(upAtNanos);
            if (lastAcked.get() > ackedBeforeResume) { // the replayer applied more than it had acknowledged
                stall.restart(upAtNanos, reconnects.get());
            }
            connected = true;
            lastError = "";
            onChange.run();
            ackedAtUp = lastAcked.get();
            lastLoggedError = null;
            log.info("link up volume={} remote={} replayerLastApplied={} resumeAt={}", config.volumeId(), remoteId,
                    lastApplied, resumeAfter + 1);
            try (RecordReader reader = source.openReader(resumeAfter + 1)) {
                pump(s, reader, resumeAfter + 1, firstReport);
            }
            return s.failureReason() == null ? "shipper closed" : s.failureReason();
        } finally {
            if (connected) {
                downSinceNanos = System.nanoTime();
                stall.sessionDown(downSinceNanos, lastSent.get() > lastAcked.get());
            }
            connected = false;
            s.fail("session ended");
            if (upAtNanos != 0 && (lastAcked.get() > ackedAtUp
                    || System.nanoTime() - upAtNanos >= config.maxBackoff().toNanos())) {
                // The session did real work (or lived a while): the next loss starts again at the
                // shortest delay. One that a replayer ends at once (its disk full, applying fails)
                // backs off instead, rather than reconnecting ten times a second.
                backoff.reset();
            }
        }
    }

    /**
     * Why a connection attempt failed, in words: Netty's exception for a route that is gone (a
     * veth down, a namespace deleted) has no message, and status said "connect HOST:PORT: null"
     * (probe AA D4).
     */
    static String connectFailure(Throwable cause) {
        String known = ConnectionErrorText.describeKnown(cause, LinkSession.REPLAYER);
        if (known != null) {
            return known;
        }
        String message = cause.getMessage();
        if (message != null && !message.isBlank() && !message.startsWith("null")) {
            return message;
        }
        String kind = cause.getClass().getSimpleName();
        return kind.contains("NoRouteToHost") ? "no route to host"
                : "no answer (" + kind + (cause.getCause() != null ? ": " + connectFailure(cause.getCause()) : "")
                + "): the address is unreachable from here";
    }

    /** Applies the resume rule; returns the sequence to resume after, or -1 when nothing may be shipped. */
    private long resumePoint(LinkSession s, long lastApplied) throws IOException {
        ackRecorder.startSession(sessions); // earlier sessions' ACKs are in the cursor before it is read or rewound
        long acked = source.acknowledged(cursorId);
        long last = source.lastSequence();
        long first = source.firstSequence();
        if (lastApplied > last) {
            // The replica applied records this buffer never held: it follows another history (the
            // buffer was replaced or lost, or the replica was written elsewhere). Its sequences never
            // go back, so the buffer numbers past it; the replica is told its history is not this
            // source's (out of sync, no consistent point) and a whole-volume resync heals it.
            String why = "replica of volume " + config.volumeId() + " is at seq " + lastApplied
                    + " but this capture buffer ends at seq " + last + ": the replica follows a history this buffer"
                    + " does not hold (a new or replaced buffer); numbering continues after it, a whole-volume resync"
                    + " heals the replica";
            if (!source.numberPast(lastApplied, why) && source.lastSequence() <= lastApplied) {
                s.abort("replica of volume " + config.volumeId() + " is at seq " + lastApplied
                        + " but the capture buffer ends at seq " + last + " (expected: replica <= buffer); resync needed");
                return -1;
            }
            log.warn("volume={} remote={} {}", config.volumeId(), remoteId, why);
            s.sendControl(new io.tapline.journey.control.SourceDiverged(lastApplied, why));
            resync.requestFull(cursorId, why);
            return resumeJustBefore(lastApplied + 1, acked);
        }
        if (lastApplied + 1 < first && startsAfterLostRecords(first)) {
            // A power cut took the records after the replica's (write-once): the buffer's first record is
            // the GAP that says so. The replica continues there, out of sync; the changed chunks (every
            // chunk, for a replica further back than they cover) heal it in the next resync epoch.
            log.warn("replica behind the buffer volume={} remote={} replicaAt={} bufferFirst={}: the source lost the"
                    + " records between in a power cut, shipping from its GAP; a resync heals the replica",
                    config.volumeId(), remoteId, lastApplied, first);
            return resumeJustBefore(first, acked);
        }
        if (lastApplied + 1 < first) {
            // The records after the replica's sequence are gone (a rollback older than the buffer):
            // only a full resync can bring it back; its RESYNC_BEGIN lets the replayer skip the hole.
            long begin = resync.fullResyncBegin(first);
            if (begin < 0) {
                String why = "replica of volume " + config.volumeId() + " is at seq " + lastApplied
                        + " but the capture buffer starts at seq " + first + ": waiting for a full resync";
                resync.requestFull(cursorId, why);
                s.abort(why);
                return -1;
            }
            log.warn("replica behind the buffer volume={} remote={} replicaAt={} bufferFirst={}: shipping from the "
                    + "full resync that begins at seq {}", config.volumeId(), remoteId, lastApplied, first, begin);
            return resumeJustBefore(begin, acked);
        }
        if (lastApplied < acked) {
            // The replayer went back (a rollback): send what it no longer has again.
            log.warn("replica went back volume={} remote={} acked={} replicaAt={}: re-sending from seq {}",
                    config.volumeId(), remoteId, acked, lastApplied, lastApplied + 1);
            source.rewind(cursorId, lastApplied);
            lastAcked.set(lastApplied);
            lastSent.set(lastApplied);
            return lastApplied;
        }
        if (lastApplied > acked) {
            source.acknowledge(cursorId, lastApplied);
            acked = lastApplied;
        }
        lastAcked.set(acked);
        lastSent.set(Math.max(lastSent.get(), acked));
        return acked;
    }

    /**
     * Moves this remote's cursor (forward or back) to just before {@code next}, the record a replica
     * further back than the buffer continues at (it crosses the hole before it); returns the
     * sequence to resume after.
     */
    private long resumeJustBefore(long next, long acked) throws IOException {
        if (acked < next - 1) {
            source.acknowledge(cursorId, next - 1);
        } else if (acked > next - 1) {
            source.rewind(cursorId, next - 1);
        }
        lastAcked.set(next - 1);
        lastSent.set(next - 1);
        return next - 1;
    }

    /** Whether the record at {@code first} is a GAP after which a replica further back may continue. */
    private boolean startsAfterLostRecords(long first) throws IOException {
        try (RecordReader r = source.openReader(first)) {
            CaptureRecord record = r.next(1000);
            return record != null && record.sequence() == first && record.recordsLostBefore();
        } catch (SequenceNotRetainedException e) {
            return false; // acknowledged and deleted meanwhile
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading seq " + first, e);
        }
    }

    /**
     * Reads, packs and sends until the session ends or the shipper closes. Records travel as the
     * buffer stores them: each one's bytes (its CRC checked by the reader) are copied from the
     * reader's window into the frame being built, never decoded.
     */
    private void pump(LinkSession s, RecordReader reader, long firstSequence,
            java.util.concurrent.atomic.AtomicReference<io.tapline.journey.control.ReplicaStateReport> firstReport)
            throws IOException, InterruptedException {
        long expected = firstSequence;
        // A record read but left for the next batch: a view into the reader's window, valid
        // because the reader is not called again before it is used.
        ByteBuffer pending = null;
        long headSentNanos = 0;
        boolean historyChecked = false;
        try {
            while (!closed && s.alive()) {
                if (!historyChecked && firstReport.get() != null) {
                    historyChecked = true;
                    checkHistory(s, firstReport.get());
                }
                if (System.nanoTime() - headSentNanos > HEAD_EVERY_NANOS) {
                    // How far this source got: a replica promoted after losing it says what never arrived.
                    s.sendControl(new io.tapline.journey.control.SourceHead(source.lastSequence(),
                            System.currentTimeMillis()));
                    announceNewerGeneration(s);
                    headSentNanos = System.nanoTime();
                }
                noteStall();
                String unanswered = s.unanswered(System.nanoTime(), silenceTimeoutNanos);
                if (unanswered != null) {
                    s.fail(unanswered); // a link failure: the status says why, and the shipper reconnects
                    return;
                }
                resizeWindow(s);
                if (!s.acquireSlot(0)) {
                    long waitStart = System.nanoTime();
                    boolean got = s.acquireSlot(POLL_MILLIS);
                    compression.waitedForWindow(System.nanoTime() - waitStart);
                    if (!got) {
                        continue;
                    }
                }
                while (s.alive() && !closed) {
                    ByteBuffer r = pending != null ? pending
                            : nextRecord(reader);
                    pending = null;
                    if (r == null) {
                        break;
                    }
                    long sequence = RecordCodec.sequenceOf(r);
                    if (sequence < expected) {
                        continue; // the replayer has it already
                    }
                    if (sequence > expected && RecordCodec.decode(r.duplicate()).recordsLostBefore()) {
                        // The buffer numbers past a replica's history here (CaptureBuffer.numberPast): the
                        // GAP opens a batch of its own, which the replayer accepts across the hole.
                        if (frame.records() > 0) {
                            pending = r;
                            break;
                        }
                        expected = sequence;
                    }
                    if (sequence != expected) {
                        s.abort("capture buffer hole: seq " + sequence + " (expected: " + expected + ") volume="
                                + config.volumeId());
                        return;
                    }
                    if (!RecordCodec.hasVolumeId(r, volumeIdUtf8)) {
                        s.abort("record volume: " + RecordCodec.decode(r.duplicate()).volumeId() + " (expected: "
                                + config.volumeId() + ") seq=" + sequence);
                        return;
                    }
                    int size = r.remaining();
                    if (frame.records() > 0 && (long) frame.recordBytes() + size > config.maxBatchBytes()) {
                        pending = r;
                        break;
                    }
                    if (frame.records() == 0) {
                        frame.start(s.alloc(), config.maxBatchBytes()); // only once there is a record to send
                        fill.started(System.nanoTime());
                    }
                    frame.add(r, sequence);
                    expected++;
                    if (frame.recordBytes() >= config.maxBatchBytes()) {
                        break;
                    }
                }
                if (frame.records() == 0 || !s.alive() || closed) {
                    frame.discard();
                    s.releaseSlot();
                    continue;
                }
                // Ship only what the source can no longer lose: see RecordSource.makeDurable.
                source.makeDurable(expected - 1);
                BatchFrame batch = frame.seal(nextBatchId++, chooseCompression(s));
                s.send(batch);
                meanWireBatchBytes = meanWireBatchBytes == 0 ? batch.bodyBytes()
                        : meanWireBatchBytes * 0.9 + batch.bodyBytes() * 0.1;
                if (lastAcked.get() >= lastSent.get()) {
                    stall.restart(System.nanoTime(), reconnects.get()); // the first waiting since all were acknowledged
                }
                lastSent.set(batch.lastSequence());
                log.trace("sent batch={} seq={}..{} records={} bytes={}", batch.batchId(), batch.firstSequence(),
                        batch.lastSequence(), batch.recordCount(), batch.bodyBytes());
            }
        } finally {
            frame.discard();
        }
    }

    /**
     * The next record for the batch being filled, or null when it is to be sent (or, for an empty
     * batch, when none came within {@link #POLL_MILLIS}): see {@link BatchFill}.
     */
    private ByteBuffer nextRecord(RecordReader reader) throws IOException, InterruptedException {
        if (frame.records() == 0) {
            return reader.nextEncoded(POLL_MILLIS);
        }
        ByteBuffer r = reader.nextEncoded(0);
        if (r == null) {
            long linger = fill.lingerNanos(System.nanoTime());
            if (linger > 0) {
                LockSupport.parkNanos(linger);
                r = reader.nextEncoded(0);
            }
        }
        return r;
    }

    private void resizeWindow(LinkSession s) {
        int size = windowSizer.batches(compression.lastRate(), s.minRttNanos(), (long) meanWireBatchBytes);
        if (size != s.windowSize()) {
            log.debug("link window volume={} remote={} batches={} (line {} KB/s, min rtt {} us, batch {} B)",
                    config.volumeId(), remoteId, size, compression.lastRate() / 1000, s.minRttNanos() / 1000,
                    (long) meanWireBatchBytes);
            s.resizeWindow(size);
        }
        lastWindow = size;
    }

    /** The window, line rate and compression the link runs with now, for metrics. */
    public LinkShape linkShape() {
        return new LinkShape(lastWindow == 0 ? config.maxInFlightBatches() : lastWindow, lastLineRate,
                lastCompression.toString());
    }

    /** Logs a stall once when it begins and once when it ends, and has the status files written then. */
    private void noteStall() {
        long stalled = stalledForNanos(System.nanoTime());
        if (stalled > 0 && !stallLogged) {
            stallLogged = true;
            log.warn("volume={} remote={} {}", config.volumeId(), remoteId, stallReason(stalled));
            onChange.run();
        } else if (stalled == 0 && stallLogged) {
            stallLogged = false;
            log.info("volume={} remote={} link delivers again: acknowledged seq {}", config.volumeId(), remoteId,
                    lastAcked.get());
            onChange.run();
        }
    }

    private io.tapline.journey.CompressionChoice chooseCompression(LinkSession s) {
        io.tapline.journey.CompressionChoice choice = compression.choose(s.ackedWireBytes(), System.nanoTime());
        lastLineRate = compression.lastRate();
        if (!choice.equals(lastCompression)) {
            log.debug("link compression volume={} remote={} now={} (line carried {} KB/s)", config.volumeId(),
                    remoteId, choice, compression.lastRate() / 1000);
            lastCompression = choice;
        }
        return choice;
    }

    /** On the event loop: a verified ACK (the replayer applied it durably); the cursor file follows on the ACK thread. */
    private void acked(long sessionNumber, long lastApplied) {
        if (lastApplied > lastAcked.get()) {
            stall.restart(System.nanoTime(), reconnects.get()); // progress: what still waits waits from now
        }
        lastAcked.set(lastApplied);
        ackRecorder.acked(sessionNumber, lastApplied);
    }

    private void linkDown(String reason) {
        reconnects.incrementAndGet();
        lastError = reason;
        onChange.run();
        boolean wasUp = lastLoggedError == null;
        if (wasUp || !reason.equals(lastLoggedError)) {
            log.warn("link down volume={} remote={} reason={}; reconnecting with backoff {}..{}", config.volumeId(),
                    remoteId, reason, config.minBackoff(), config.maxBackoff());
            lastLoggedError = reason;
        } else {
            log.debug("link still down volume={} remote={} reason={}", config.volumeId(), remoteId, reason);
        }
    }
}
