package io.tapline.wedge.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
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
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.tapline.log.ExclusiveLock;
import io.tapline.log.volume.VolumeFile;
import io.tapline.wedge.capture.VolumeSequencer;
import io.tapline.wedge.capture.WriteCommand;
import io.tapline.wedge.nbd.NbdHandshakeEncoder;
import io.tapline.wedge.nbd.NbdOptionDecoder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * <p>Uses epoll when available, NIO otherwise; TCP_NODELAY on every connection. Thread-safe;
 * {@link #close()} is idempotent. The server opens and closes the primary volume, holding an
 * {@link ExclusiveLock} on {@code VOLUME.lock} meanwhile (a second wedge on the volume is
 * refused); it never closes the capture sink.
 */
public final class WedgeServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WedgeServer.class);
    /** Next to the volume, {@code VOLUME.lock}: held while a wedge serves it, one writer per volume. */
    static final String LOCK_SUFFIX = ".lock";

    private final WedgeConfig config;
    private final VolumeFile primary;
    private final VolumeSequencer sequencer;
    private final ExecutorService readers;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ChannelGroup channels = new DefaultChannelGroup("wedge", GlobalEventExecutor.INSTANCE);
    private final ConnectionTracker tracker = new ConnectionTracker();
    private final Channel serverChannel;
    private boolean closed;
    private ExclusiveLock volumeLock;

    private WedgeServer(WedgeConfig config, VolumeFile primary) throws IOException {
        this.config = config;
        this.primary = primary;
        this.sequencer = VolumeSequencer.start(config.exportName(), primary, config.captureSink());
        this.readers = Executors.newFixedThreadPool(config.readThreads(), daemonThreads("wedge-read-" + config.exportName()));
        Export export = new Export(config.exportName(), primary, sequencer, readers,
                config.maxInFlightBytesPerConnection());
        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerChannel> channelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        this.boss = new MultiThreadIoEventLoopGroup(1, io);
        this.workers = new MultiThreadIoEventLoopGroup(config.ioThreads(), io);
        NbdHandshakeEncoder handshakeEncoder = new NbdHandshakeEncoder();
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(channelType)
                .option(ChannelOption.SO_BACKLOG, 128)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        channels.add(ch);
                        ch.pipeline()
                                .addLast(NbdNegotiationHandler.HANDSHAKE_TIMEOUT, new ReadTimeoutHandler(
                                        config.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS))
                                .addLast(NbdNegotiationHandler.HANDSHAKE_ENCODER, handshakeEncoder)
                                .addLast(NbdNegotiationHandler.OPTION_DECODER, new NbdOptionDecoder())
                                .addLast("nbd-negotiation", new NbdNegotiationHandler(export, tracker));
                    }
                });
        try {
            this.serverChannel = b.bind(config.listenAddress()).syncUninterruptibly().channel();
        } catch (Exception e) { // Netty rethrows the native bind IOException undeclared.
            shutdownResources();
            throw new IOException("cannot listen on " + config.listenAddress() + ": " + e.getMessage(), e);
        }
        log.info("wedge listening address={} export={} volume={} sizeBytes={} transport={}", boundAddress(),
                config.exportName(), config.volumePath(), config.volumeSizeBytes(), epoll ? "epoll" : "nio");
    }

    /**
     * Opens (creating sparse if missing) the primary volume and starts serving it.
     *
     * @throws io.tapline.log.volume.VolumeSizeMismatchException when the volume exists with another size
     * @throws IOException when the volume cannot be opened or the address cannot be bound
     */
    public static WedgeServer start(WedgeConfig config) throws IOException {
        Path volume = config.volumePath();
        ExclusiveLock lock = ExclusiveLock.acquire(volume.resolveSibling(volume.getFileName() + LOCK_SUFFIX),
                "volume", volume);
        boolean created = !Files.exists(volume);
        try {
            VolumeFile primary = VolumeFile.openOrCreate(volume, config.volumeSizeBytes());
            try {
                WedgeServer server = new WedgeServer(config, primary);
                server.volumeLock = lock;
                return server;
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

    /** The address actually bound (with the real port when port 0 was configured). */
    public InetSocketAddress boundAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /**
     * Queues an administrator's command (a MARK) behind every write submitted before it, so that
     * it is ordered with the host's writes; {@code command.listener()} hears when it is durable.
     */
    public void submit(WriteCommand command) {
        sequencer.submit(command);
    }

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

    /** Reads the primary volume (positional, thread-safe); unordered with in-flight writes unless quiesced. */
    public void readPrimary(long offsetBytes, java.nio.ByteBuffer dst) throws IOException {
        primary.read(offsetBytes, dst);
    }

    /**
     * Graceful stop: stops accepting connections and reading requests, waits (up to the
     * configured shutdown timeout) until every accepted request was answered, closes the
     * connections, then makes the capture sink and the primary durable and closes the primary.
     */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        serverChannel.close().syncUninterruptibly();
        tracker.stopReading();
        long deadline = System.nanoTime() + config.shutdownTimeout().toNanos();
        while (!tracker.idle() && System.nanoTime() < deadline) {
            // Poll with a deadline: in-flight counts live on several event loops.
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        if (!tracker.idle()) {
            log.warn("shutdown timeout with requests in flight export={} timeout={}", config.exportName(),
                    config.shutdownTimeout());
        }
        channels.close().awaitUninterruptibly();
        try {
            shutdownResources();
        } finally {
            volumeLock.close();
        }
        log.info("wedge closed export={}", config.exportName());
    }

    private void shutdownResources() throws IOException {
        try {
            sequencer.close();
        } finally {
            readers.shutdown();
            awaitTermination(readers);
            workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            primary.close();
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
}
