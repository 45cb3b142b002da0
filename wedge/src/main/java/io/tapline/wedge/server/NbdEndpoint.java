package io.tapline.wedge.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.tapline.wedge.nbd.NbdHandshakeEncoder;
import io.tapline.wedge.nbd.NbdOptionDecoder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One NBD listener (fixed newstyle, simple replies; see {@link WedgeServer} for what is
 * supported) serving several named exports: wedges attached with
 * {@link WedgeServer#start(WedgeConfig, NbdEndpoint)} and <i>standby</i> exports.
 *
 * <p>A standby export is what a replica offers while it is not promoted: it negotiates like a
 * served export (NBD_OPT_GO, INFO, EXPORT_NAME and LIST show its name, size and block sizes), so
 * a host's multipath or a failover script sees the disk, but every data command (READ, WRITE,
 * TRIM, WRITE_ZEROES, FLUSH, CACHE) gets EPERM ("not promoted: REASON" in the log). Promotion
 * starts a wedge of the same name on this endpoint, which replaces the standby export.
 *
 * <pre>
 * NbdEndpoint endpoint = NbdEndpoint.start(new InetSocketAddress("0.0.0.0", 10809));
 * endpoint.serveStandby("vol1", 4L &lt;&lt; 30, "replica of site-a, generation 7");
 * ...                                           // failover: promote
 * WedgeServer wedge = WedgeServer.start(config, endpoint);   // replaces the standby "vol1"
 * ...                                           // fenced: a newer generation serves elsewhere
 * wedge.standby("fenced by generation 8");     // EPERM from now on, no write in flight
 * wedge.close();
 * endpoint.close();
 * </pre>
 *
 * <p>Names: a client asking for an exact name gets that export; the empty name is the default
 * export only while exactly one export is registered; any other name gets NBD_REP_ERR_UNKNOWN
 * (GO, INFO) or a closed connection (EXPORT_NAME, which allows no error).
 *
 * <p>Uses epoll when available, NIO otherwise; TCP_NODELAY on every connection; a client that has
 * not finished negotiating within 30 s is disconnected. Thread-safe; changes to the set of
 * exports are serialised. {@link #close()} is idempotent; it closes every connection but not the
 * wedges attached (their owners close them, before the endpoint or after; after, they are simply
 * cut off).
 */
public final class NbdEndpoint implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NbdEndpoint.class);

    private final ExportTable exports = new ExportTable();
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ChannelGroup channels = new DefaultChannelGroup("nbd-endpoint", GlobalEventExecutor.INSTANCE);
    private final ServerBootstrap bootstrap;
    private final InetSocketAddress listen;
    private final boolean epoll;
    private volatile Channel serverChannel;
    private volatile InetSocketAddress boundAddress;
    private boolean closed;

    /**
     * Connections an endpoint holds at most ({@code -Dtapline.wedge.maxConnections}, default 1024):
     * past it a new one is closed at once, so that a flood of idle clients cannot use up the
     * wedge's file descriptors, which its capture buffer and links need (NBD multi-conn clients
     * open a few each).
     */
    static final String MAX_CONNECTIONS_PROPERTY = "tapline.wedge.maxConnections";
    private final int maxConnections = Math.max(1, Integer.getInteger(MAX_CONNECTIONS_PROPERTY, 1024));
    /** Connections refused for {@link #maxConnections}; the first of each run is logged at WARN. */
    private final java.util.concurrent.atomic.AtomicLong refusedConnections = new java.util.concurrent.atomic.AtomicLong();

    private void refuseConnection(SocketChannel ch) {
        long n = refusedConnections.incrementAndGet();
        if (n == 1 || Long.bitCount(n) == 1) { // 1, 2, 4, 8...: a flood is told, not logged line by line
            log.warn("NBD connection from {} refused: {} connections are open (the most an endpoint holds,"
                    + " -Dtapline.wedge.maxConnections); {} refused so far", ch.remoteAddress(), channels.size(), n);
        }
        ch.close();
    }

    private NbdEndpoint(InetSocketAddress listen, int ioThreads, Duration handshakeTimeout) {
        this.listen = listen;
        this.boundAddress = listen;
        this.epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerChannel> channelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        this.boss = new MultiThreadIoEventLoopGroup(1, io);
        this.workers = new MultiThreadIoEventLoopGroup(ioThreads, io);
        NbdHandshakeEncoder handshakeEncoder = new NbdHandshakeEncoder();
        long handshakeTimeoutMillis = handshakeTimeout.toMillis();
        this.bootstrap = new ServerBootstrap()
                .group(boss, workers)
                .channel(channelType)
                .option(ChannelOption.SO_BACKLOG, 128)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                // A client's FIN ends its requests, not the connection: the ones accepted are answered
                // first (NbdTransmissionHandler; during negotiation the connection closes at once).
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                // Replies queued for a socket beyond this stop the connection reading requests
                // (NbdTransmissionHandler): one largest READ reply fits, a client that does not take
                // its replies cannot pile up more.
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(16 << 20, 48 << 20))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (channels.size() >= maxConnections) {
                            refuseConnection(ch);
                            return;
                        }
                        channels.add(ch);
                        ch.pipeline()
                                .addLast(NbdNegotiationHandler.HANDSHAKE_TIMEOUT,
                                        new HandshakeDeadline(handshakeTimeoutMillis))
                                .addLast(NbdNegotiationHandler.HANDSHAKE_ENCODER, handshakeEncoder)
                                .addLast(NbdNegotiationHandler.OPTION_DECODER, new NbdOptionDecoder())
                                .addLast("nbd-negotiation", new NbdNegotiationHandler(exports));
                    }
                });
    }

    /**
     * Binds the listen address: from now on clients connect. Exports added before this are there
     * from the first client on (a host never sees "unknown export" during start-up).
     *
     * @throws IOException {@code cannot listen on ADDR: ...} when the address cannot be bound
     * @throws IllegalStateException when already listening or closed
     */
    public synchronized NbdEndpoint listen() throws IOException {
        requireOpen();
        if (serverChannel != null) {
            throw new IllegalStateException("NBD endpoint already listening on " + boundAddress);
        }
        try {
            this.serverChannel = bootstrap.bind(listen).syncUninterruptibly().channel();
        } catch (Exception e) { // Netty rethrows the native bind IOException undeclared.
            throw new IOException("cannot listen on " + listen + ": " + e.getMessage(), e);
        }
        this.boundAddress = (InetSocketAddress) serverChannel.localAddress();
        log.info("NBD endpoint listening address={} transport={}", boundAddress, epoll ? "epoll" : "nio");
        return this;
    }

    /**
     * An endpoint that does not listen yet: add exports, then {@link #listen()}. Close it even
     * if it never listened (its event loops run).
     */
    public static NbdEndpoint create(InetSocketAddress listen) {
        Objects.requireNonNull(listen, "listen");
        return new NbdEndpoint(listen, 0, WedgeConfig.DEFAULT_HANDSHAKE_TIMEOUT);
    }

    /**
     * Starts listening, with no export yet (every name is unknown until one is added).
     *
     * @param listen where to listen; port 0 picks an ephemeral port ({@link #boundAddress()})
     * @throws IOException {@code cannot listen on ADDR: ...} when the address cannot be bound
     */
    public static NbdEndpoint start(InetSocketAddress listen) throws IOException {
        return start(listen, 0, WedgeConfig.DEFAULT_HANDSHAKE_TIMEOUT);
    }

    /** As {@link #start(InetSocketAddress)}, with {@link WedgeConfig}'s event-loop threads and handshake time-out. */
    static NbdEndpoint start(InetSocketAddress listen, int ioThreads, Duration handshakeTimeout) throws IOException {
        NbdEndpoint endpoint = create(listen, ioThreads, handshakeTimeout);
        try {
            return endpoint.listen();
        } catch (IOException | RuntimeException e) {
            endpoint.close();
            throw e;
        }
    }

    /** As {@link #create(InetSocketAddress)}, with {@link WedgeConfig}'s event-loop threads and handshake time-out. */
    static NbdEndpoint create(InetSocketAddress listen, int ioThreads, Duration handshakeTimeout) {
        Objects.requireNonNull(listen, "listen");
        return new NbdEndpoint(listen, ioThreads, handshakeTimeout);
    }

    /** The address actually bound (with the real port when port 0 was given); the configured one before {@link #listen()}. */
    public InetSocketAddress boundAddress() {
        return boundAddress;
    }

    /**
     * Serves {@code name} as a standby export of {@code sizeBytes}: negotiation shows it, data
     * commands get EPERM naming {@code reason}. Replaces a standby export of that name, closing
     * its connections (so a new reason or size reaches every client).
     *
     * @throws IllegalStateException when a wedge serves data under that name (fence it with
     *                               {@link WedgeServer#standby} first), or the endpoint is closed
     */
    public void serveStandby(String name, long sizeBytes, String reason) {
        Export standby = Export.standbyOnly(name, sizeBytes, reason);
        Export old;
        synchronized (this) {
            requireOpen();
            requireNotServingData(exports.get(name), "serveStandby");
            old = exports.put(standby);
        }
        log.info("standby export serving export={} sizeBytes={} reason={}", name, sizeBytes, reason);
        closeConnections(old);
    }

    /**
     * Stops serving {@code name} and closes its connections; nothing happens when no export has
     * that name.
     *
     * @throws IllegalStateException when a wedge serves data under that name (close the wedge,
     *                               or fence it with {@link WedgeServer#standby} first)
     */
    public void remove(String name) {
        Objects.requireNonNull(name, "name");
        Export old;
        synchronized (this) {
            requireNotServingData(exports.get(name), "remove");
            old = exports.remove(name);
        }
        if (old != null) {
            log.info("export removed export={}", name);
            closeConnections(old);
        }
    }

    /**
     * Serves a wedge's export, replacing a standby export of the same name (its connections are
     * closed: their clients reconnect and find the wedge).
     *
     * @throws IllegalStateException when another wedge holds that name, or the endpoint is closed
     */
    void attach(Export export) {
        Export old;
        synchronized (this) {
            requireOpen();
            old = exports.get(export.name);
            if (old != null && old.hasVolume()) {
                throw new IllegalStateException("export: " + export.name + " (expected: not served by another wedge"
                        + " on " + boundAddress + ")");
            }
            exports.put(export);
        }
        if (old != null) {
            log.info("standby export replaced by a wedge export={} reason={}", export.name, old.standbyReason());
            closeConnections(old);
        }
    }

    /** Stops offering {@code export} to new clients, unless another export has replaced it already. */
    synchronized void detach(Export export) {
        exports.remove(export);
    }

    /** Stops accepting connections; those already accepted go on. */
    void stopAccepting() {
        Channel c = serverChannel;
        if (c != null) {
            c.close().syncUninterruptibly();
        }
    }

    /** Closes the listener and every connection, then the event loops. Idempotent. Not on an event loop. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            exports.removeAll();
        }
        stopAccepting();
        channels.close().awaitUninterruptibly();
        shutdownEventLoops();
        log.info("NBD endpoint closed address={}", boundAddress);
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("NBD endpoint on " + boundAddress + " is closed");
        }
    }

    private void requireNotServingData(Export current, String operation) {
        if (current != null && current.standbyReason() == null) {
            throw new IllegalStateException(operation + ": export " + current.name
                    + " is served by a wedge (expected: a standby export or none)");
        }
    }

    private static void closeConnections(Export export) {
        if (export != null) {
            export.connections.closeAll();
        }
    }

    private void shutdownEventLoops() {
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
