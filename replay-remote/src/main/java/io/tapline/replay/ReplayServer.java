package io.tapline.replay;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.tapline.journey.JourneyDecoder;
import io.tapline.journey.JourneyEncoder;
import io.tapline.journey.NettyTransport;
import io.tapline.log.ExclusiveLock;
import io.tapline.log.volume.VolumeFile;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replayer: a journey link server that keeps one replica per volume under the data
 * directory and applies what sources ship, strictly in sequence, acknowledging each batch only
 * once it is on stable storage. Many volumes are served at once, each isolated: its own files,
 * its own apply thread, at most one live session.
 *
 * <pre>
 * &lt;data&gt;/&lt;volumeId&gt;/replica.img     raw image, byte N = byte N of the source, created sparse
 * &lt;data&gt;/&lt;volumeId&gt;/volume.meta     size, block size, source id (see VolumeMeta)
 * &lt;data&gt;/&lt;volumeId&gt;/applied.state   last durably applied sequence, out-of-sync flag (see AppliedState)
 * &lt;data&gt;/&lt;volumeId&gt;/role            primary or secondary, generation (see VolumeRole; absent: secondary, 1)
 * &lt;data&gt;/.lock                        held (ExclusiveLock) while a replayer serves the directory
 * &lt;data&gt;/.warm-up/                    a scratch volume while the replayer starts (ApplyWarmUp), then deleted
 * </pre>
 *
 * <p>Thread-safe. Netty event loops do the socket work; file I/O runs on one thread per volume.
 * Restarting on the same data directory resumes every volume where it was durably left.
 */
public final class ReplayServer implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(ReplayServer.class);
    /** Held while a replayer serves the data directory: one replayer per directory. */
    static final String LOCK_FILE = ".lock";

    private final ReplayConfig config;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final ConcurrentHashMap<String, VolumeHost> hosts = new ConcurrentHashMap<>();
    private final Channel serverChannel;
    private volatile boolean closed;
    private final ExclusiveLock dataLock;
    private final RoleListener roles;
    private final java.util.concurrent.atomic.LongAdder refused = new java.util.concurrent.atomic.LongAdder();
    private final ApplyObserver observer;

    private ReplayServer(ReplayConfig config, RoleListener roles, ApplyObserver observer) throws IOException {
        String listenProblem = config.security().listenProblem(config.listen());
        if (listenProblem != null) {
            throw new IOException(listenProblem);
        }
        checkBindable(config.listen()); // an address in use is told at once, not after the warm-up
        if (config.security().tls() == null && !LinkSecurity.loopback(config.listen().getAddress())) {
            log.warn("replayer listens on {} without TLS (--insecure): peers are not authenticated unless they carry"
                    + " the credential, which crosses the network in clear text", config.listen());
        }
        this.config = config;
        this.roles = roles;
        this.observer = observer;
        Files.createDirectories(config.dataDir());
        this.dataLock = ExclusiveLock.acquire(config.dataDir().resolve(LOCK_FILE), "data", config.dataDir());
        // Before listening: a source that connects meanwhile is refused and retries, and its first
        // records then meet compiled code rather than waiting behind the first-time costs.
        ApplyWarmUp.onceAtStart(config.dataDir(), config.undo(), config.maxFrameBytes());
        this.boss = NettyTransport.newGroup(1, "tapline-replay-accept");
        this.workers = NettyTransport.newGroup(Math.max(2, Runtime.getRuntime().availableProcessors() / 2),
                "tapline-replay-io");
        ServerBootstrap b = NettyTransport.detectingDeadPeers(new ServerBootstrap().group(boss, workers))
                .channel(NettyTransport.serverSocketChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                // What waits for a peer that does not read (acks, chunk-hash replies): past 4 MiB its
                // session stops reading (ReplaySession#channelWritabilityChanged).
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new io.netty.channel.WriteBufferWaterMark(1 << 20, 4 << 20))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        channels.add(ch);
                        ch.pipeline().addLast(new InboundClock());
                        LinkSecurity security = config.security();
                        if (security.tls() != null) {
                            ch.pipeline().addLast(security.tls().serverHandler(ch.alloc(), security.handshakeTimeout()));
                        }
                        long idle = security.handshakeTimeout().toMillis();
                        ch.pipeline().addLast(new io.netty.handler.timeout.IdleStateHandler(idle, 0, 0,
                                java.util.concurrent.TimeUnit.MILLISECONDS));
                        ch.pipeline().addLast(new JourneyDecoder(config.maxFrameBytes()).boundFramesUntilAdmitted(),
                                new JourneyEncoder(config.maxFrameBytes()), new ReplaySession(config, ReplayServer.this::host,
                                refused::increment));
                    }
                });
        try {
            this.serverChannel = b.bind(config.listen()).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            shutdownLoops();
            dataLock.close();
            throw new IOException("bind " + config.listen() + ": interrupted", e);
        } catch (Exception e) { // Netty rethrows the bind's own (checked) error unchecked: name the address
            shutdownLoops();
            dataLock.close();
            throw new IOException("bind " + config.listen() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Binds {@code listen} for a moment and lets it go, so that an address in use (or not of this
     * machine) is reported before the warm-up's second and a half, with the address named.
     */
    private static void checkBindable(java.net.InetSocketAddress listen) throws IOException {
        if (listen.getPort() == 0) {
            return;
        }
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.setReuseAddress(true); // as the server socket: a port in TIME_WAIT is usable
            probe.bind(listen);
        } catch (IOException e) {
            throw new IOException("bind " + listen + ": " + e.getMessage(), e);
        }
    }

    /**
     * Queues, for every volume left with an unfinished rollback, the opening that completes it,
     * ahead of any session: such a volume accepts no source before it is at its target.
     */
    private void finishInterruptedRollbacks() throws IOException {
        try (Stream<Path> dirs = Files.list(config.dataDir())) {
            for (Path dir : (Iterable<Path>) dirs.sorted()::iterator) {
                if (Files.isRegularFile(dir.resolve(ControlFiles.INTENT))) {
                    host(dir.getFileName().toString()).openExistingInBackground();
                }
            }
        }
    }

    /**
     * Binds the listen address and starts serving.
     *
     * @throws IOException when the data directory cannot be created or the address not bound
     */
    public static ReplayServer start(ReplayConfig config) throws IOException {
        return start(config, RoleListener.NONE);
    }

    /**
     * Binds the listen address and starts serving; {@code roles} hears each promotion and
     * demotion (a node that serves its replicas to hosts).
     *
     * @throws IOException when the data directory cannot be created or the address not bound
     */
    public static ReplayServer start(ReplayConfig config, RoleListener roles) throws IOException {
        return start(config, roles, ApplyObserver.NONE);
    }

    /**
     * As {@link #start(ReplayConfig, RoleListener)}; {@code observer} hears of every applied group
     * (a node forwarding its replicas).
     */
    public static ReplayServer start(ReplayConfig config, RoleListener roles, ApplyObserver observer)
            throws IOException {
        VolumeFile.checkSettings(); // a wrong value stops the start, not every volume's first session
        ReplayServer server = new ReplayServer(config, roles, observer);
        try {
            server.finishInterruptedRollbacks();
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        log.info("replayer listening on {} data={} transport={}", server.boundAddress(), config.dataDir(),
                NettyTransport.epoll() ? "epoll" : "nio");
        bindNativeCallsAhead();
        return server;
    }

    /**
     * Binds the image files' libc calls on a daemon thread while the replayer waits for its first
     * source, so that the first volume's open does not pay JNA's first load (0.15-0.3 s:
     * {@link VolumeFile#bindNativeCalls}). A session arriving meanwhile waits for the same class
     * initialisation, never for more.
     */
    private static void bindNativeCallsAhead() {
        Thread t = new Thread(() -> {
            if (!VolumeFile.bindNativeCalls()) {
                log.warn("libc calls not bound (JNA): replicas write zeroes for discards, see no holes and read"
                        + " before-images with readahead");
            }
        }, "tapline-bind-libc");
        t.setDaemon(true);
        t.start();
    }

    /** The address actually bound (the real port when the configured one was 0). */
    public InetSocketAddress boundAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /**
     * How long the oldest batch a live session of {@code volumeId} received has waited unapplied,
     * in milliseconds; 0 when none waits or no source is connected. From memory: it answers while
     * the replica's disk hangs.
     */
    public long unappliedForMillis(String volumeId) {
        VolumeHost h = hosts.get(volumeId);
        return h == null ? 0 : h.unappliedForMillis();
    }

    /** Status of a volume opened since this server started. */
    public Optional<VolumeStatus> volumeStatus(String volumeId) {
        VolumeHost h = hosts.get(volumeId);
        return h == null ? Optional.empty() : Optional.ofNullable(h.status());
    }

    /** Connections refused by {@link PeerGate} (role, certificate, unauthenticated peer) since start. */
    public long refusedSessions() {
        return refused.sum();
    }

    /** The rollback window of an open volume (as of its last applied group), if it is open. */
    public Optional<io.tapline.log.undo.UndoLog.Window> undoWindow(String volumeId) {
        VolumeHost h = hosts.get(volumeId);
        return h == null ? Optional.empty() : Optional.ofNullable(h.undoWindow());
    }

    /** Status of every volume opened since this server started, by volume id. */
    public List<VolumeStatus> volumes() {
        List<VolumeStatus> out = new ArrayList<>();
        for (VolumeHost h : hosts.values()) {
            VolumeStatus s = h.status();
            if (s != null) {
                out.add(s);
            }
        }
        out.sort(Comparator.comparing(VolumeStatus::volumeId));
        return out;
    }

    /**
     * Reads the durable status of every volume in {@code dataDir} from its files, for a process
     * other than the replayer; {@code bytesApplied} is 0 and {@code sessionConnected} false.
     */
    public static List<VolumeStatus> readVolumeStatus(Path dataDir) throws IOException {
        List<VolumeStatus> out = new ArrayList<>();
        if (!Files.isDirectory(dataDir)) {
            return out;
        }
        boolean atRest = runningReplayer(dataDir) == io.tapline.log.ExclusiveLock.NOBODY;
        try (Stream<Path> dirs = Files.list(dataDir)) {
            for (Path dir : (Iterable<Path>) dirs.sorted()::iterator) {
                if (Files.isRegularFile(dir.resolve(VolumeMeta.FILE))) {
                    VolumeStatus s = AppliedState.peek(dir, dir.getFileName().toString());
                    ControlFiles intent = null;
                    try {
                        intent = s == null ? null : ControlFiles.read(dir, ControlFiles.INTENT);
                    } catch (IOException e) {
                        s = s.paused("unfinished rollback, its intent unreadable: " + e.getMessage());
                    }
                    if (intent != null) {
                        // Running, or failed part-way and refused until it completes: never consistent.
                        s = s.paused("rollback to seq " + intent.target() + " (from seq " + intent.from() + ", by "
                                + intent.text() + ") running or unfinished (" + ControlFiles.INTENT + "): sources are"
                                + " refused until it completes");
                    } else if (s != null) {
                        ControlFiles paused = null;
                        try {
                            paused = ControlFiles.read(dir, ControlFiles.PAUSED);
                        } catch (IOException e) {
                            s = s.paused("paused, its reason unreadable: " + e.getMessage());
                        }
                        if (paused != null) {
                            s = s.paused(paused.text()); // rolled back: sources refused until `tapline resume`
                        }
                    }
                    String outside = s == null ? null : ReplicaVolume.changedWhileNotHeld(dir);
                    if (outside != null) {
                        s = s.changedOutside(outside);
                    }
                    VolumeRole role = s == null ? null : VolumeRole.read(dir);
                    if (role != null && !role.primary() && role.writtenOutsideLog()) {
                        s = s.servedReadWrite(role.generation()); // marked so at the replayer's next open
                    }
                    if (s != null) {
                        long applied = s.lastAppliedSequence();
                        s = ReplicaVolume.seenFromFiles(s, dir, !atRest, () -> ReplicaVolume.undoneAtNextOpen(dir, applied));
                    }
                    if (s != null) {
                        out.add(s);
                    }
                }
            }
        }
        return out;
    }

    /**
     * The PID of the replayer serving {@code dataDir} (the holder of its lock, read without taking
     * it), {@link io.tapline.log.ExclusiveLock#NOBODY} when none runs, or
     * {@link io.tapline.log.ExclusiveLock#UNKNOWN}.
     */
    public static long runningReplayer(Path dataDir) {
        return io.tapline.log.ExclusiveLock.holder(dataDir.resolve(LOCK_FILE));
    }

    /**
     * Runs {@code action} on the volume's apply thread, between two applied groups: the replica
     * does not change meanwhile (a forwarding node's resync reads it there).
     */
    public <T> T onApplyThread(String volumeId, java.util.concurrent.Callable<T> action)
            throws IOException, InterruptedException {
        return host(volumeId).onApplyThread(action);
    }

    /** The ids of the volumes {@code dataDir} holds (those with metadata), sorted. */
    public static List<String> volumeIds(Path dataDir) throws IOException {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(dataDir)) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(dataDir)) {
            for (Path dir : (Iterable<Path>) dirs.sorted()::iterator) {
                if (Files.isRegularFile(dir.resolve(VolumeMeta.FILE))) {
                    out.add(dir.getFileName().toString());
                }
            }
        }
        return out;
    }

    /** The size of a volume of {@code dataDir} from its metadata, -1 when it has none. */
    public static long volumeSizeBytes(Path dataDir, String volumeId) throws IOException {
        VolumeMeta meta = VolumeMeta.read(dataDir.resolve(volumeId));
        return meta == null ? -1 : meta.volumeSizeBytes();
    }

    /** The replica image of a volume directory. */
    public static Path replicaImage(Path volumeDir) {
        return volumeDir.resolve(ReplicaVolume.REPLICA_FILE);
    }

    private VolumeHost host(String volumeId) {
        return hosts.computeIfAbsent(volumeId, id -> new VolumeHost(id, config.dataDir(), config.undo(), roles, observer));
    }

    /** Stops listening, closes every session, lets each volume finish its current batch, closes the files. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        serverChannel.close().syncUninterruptibly();
        channels.close().awaitUninterruptibly();
        for (VolumeHost h : hosts.values()) {
            h.close();
        }
        shutdownLoops();
        try {
            dataLock.close();
        } catch (IOException e) {
            log.warn("data directory lock not released data={} error={}", config.dataDir(), e.toString());
        }
        log.info("replayer stopped {}", config.listen());
    }

    private void shutdownLoops() {
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
