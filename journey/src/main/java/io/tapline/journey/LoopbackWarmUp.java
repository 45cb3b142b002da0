package io.tapline.journey;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The journey link's socket path, run at start over a loopback connection of the warm-up's own:
 * BATCH frames written by a client channel with at most {@link #WINDOW} unacknowledged, read and
 * decoded by a server channel, an ACK back for each, as a shipper and a replayer's session do,
 * with the same transport (epoll where it loads) and options.
 *
 * <p>Why: the codecs run on an {@code EmbeddedChannel} leave Netty's own code (event loops, socket
 * reads and writes, pooled buffers, the pipeline) to the first real batches, and in a wedge and a
 * replayer sharing two cores with the host's writer its compilation ran for seconds beside them:
 * ~750 methods per process compiled in the writer's first 3 s (docs/benchmarks.md#loopback-warm-up).
 * The large frames are carried {@link #LARGE_ROUNDS} times, the small ones {@link #SMALL_ROUNDS}
 * times: the per-read and per-frame code must run thousands of times before the optimizing
 * compiler takes it.
 *
 * <p>Binds 127.0.0.1 on a port the system chooses; nothing from outside can reach it usefully (it
 * only acknowledges BATCH frames) and it is closed before the method returns.
 */
public final class LoopbackWarmUp {
    static final int WINDOW = 4;
    /** How often the large frames are carried. */
    public static final int LARGE_ROUNDS = 3;
    /** How often the small frames are carried. */
    public static final int SMALL_ROUNDS = 30;
    private static final long WAIT_SECONDS = 30;

    private LoopbackWarmUp() {
    }

    /** What a loopback warm-up carried. */
    public record Result(int frames, long bytes) {
    }

    /**
     * Carries {@code large} {@link #LARGE_ROUNDS} times and {@code small} {@link #SMALL_ROUNDS}
     * times from a client to a server channel over loopback; {@code onReceived} gets each decoded
     * BATCH on the server's event loop, as a session's handler would. Every frame must be a whole
     * BATCH frame (length field included); all of them are released here, whatever happens.
     *
     * @throws IOException when a frame is not acknowledged in time or either side fails
     */
    public static Result carry(List<ByteBuf> large, List<ByteBuf> small, int maxFrameBytes,
            Consumer<JourneyMessage.Batch> onReceived) throws IOException, InterruptedException {
        EventLoopGroup serverGroup = NettyTransport.newGroup(1, "tapline-warm-up-server");
        EventLoopGroup clientGroup = NettyTransport.newGroup(1, "tapline-warm-up-client");
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Semaphore window = new Semaphore(WINDOW);
        Channel server = null;
        Channel client = null;
        try {
            server = new ServerBootstrap().group(serverGroup)
                    .channel(NettyTransport.serverSocketChannel())
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(journeyPipeline(maxFrameBytes, true, () -> new Receiver(onReceived, failure)))
                    .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
            client = new Bootstrap().group(clientGroup)
                    .channel(NettyTransport.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(journeyPipeline(maxFrameBytes, false, () -> new AckCounter(window, failure)))
                    .connect(server.localAddress()).sync().channel();
            int sent = 0;
            long bytes = 0;
            for (int round = 0; round < Math.max(LARGE_ROUNDS, SMALL_ROUNDS); round++) {
                if (round < LARGE_ROUNDS) {
                    for (ByteBuf frame : large) {
                        bytes += send(client, frame, window, failure);
                        sent++;
                    }
                }
                if (round < SMALL_ROUNDS) {
                    for (ByteBuf frame : small) {
                        bytes += send(client, frame, window, failure);
                        sent++;
                    }
                }
            }
            acquire(window, WINDOW, failure); // every frame acknowledged
            return new Result(sent, bytes);
        } finally {
            if (client != null) {
                client.close().await(WAIT_SECONDS, TimeUnit.SECONDS);
            }
            if (server != null) {
                server.close().await(WAIT_SECONDS, TimeUnit.SECONDS);
            }
            clientGroup.shutdownGracefully(0, WAIT_SECONDS, TimeUnit.SECONDS);
            serverGroup.shutdownGracefully(0, WAIT_SECONDS, TimeUnit.SECONDS);
            release(large);
            release(small);
        }
    }

    /**
     * A channel's journey codecs and then {@code last}; the decoder sets room aside for batches on
     * the receiving end, as for an admitted peer.
     */
    private static ChannelInitializer<SocketChannel> journeyPipeline(int maxFrameBytes, boolean roomForBatches,
            Supplier<ChannelHandler> last) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                JourneyDecoder decoder = new JourneyDecoder(maxFrameBytes);
                if (roomForBatches) {
                    decoder.setAsideRoomForBatches();
                }
                ch.pipeline().addLast(decoder, new JourneyEncoder(maxFrameBytes), last.get());
            }
        };
    }

    private static int send(Channel client, ByteBuf frame, Semaphore window, AtomicReference<Throwable> failure)
            throws IOException, InterruptedException {
        acquire(window, 1, failure);
        client.writeAndFlush(frame.retainedDuplicate()).addListener(f -> {
            if (!f.isSuccess()) {
                failure.compareAndSet(null, f.cause());
                window.release(WINDOW); // wake the sender: it reads the failure
            }
        });
        return frame.readableBytes();
    }

    private static void acquire(Semaphore window, int permits, AtomicReference<Throwable> failure)
            throws IOException, InterruptedException {
        boolean got = window.tryAcquire(permits, WAIT_SECONDS, TimeUnit.SECONDS);
        Throwable t = failure.get();
        if (t != null) {
            throw new IOException("warm-up over loopback failed: " + t, t);
        }
        if (!got) {
            throw new IOException("warm-up over loopback: no ACK in " + WAIT_SECONDS + " s");
        }
    }

    private static void release(List<ByteBuf> frames) {
        for (ByteBuf f : frames) {
            if (f.refCnt() > 0) {
                f.release();
            }
        }
    }

    /** The server's end: each BATCH handed on and acknowledged. */
    private static final class Receiver extends SimpleChannelInboundHandler<JourneyMessage> {
        private final Consumer<JourneyMessage.Batch> onReceived;
        private final AtomicReference<Throwable> failure;

        Receiver(Consumer<JourneyMessage.Batch> onReceived, AtomicReference<Throwable> failure) {
            this.onReceived = onReceived;
            this.failure = failure;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, JourneyMessage msg) {
            if (!(msg instanceof JourneyMessage.Batch batch)) {
                throw new IllegalStateException("type: " + msg.type() + " (expected: BATCH)");
            }
            onReceived.accept(batch);
            ctx.writeAndFlush(new JourneyMessage.Ack(batch.batchId(), batch.lastSequence(), batch.crc32c()));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            failure.compareAndSet(null, cause);
            ctx.close();
        }
    }

    /** The client's end: each ACK frees a slot of the window. */
    private static final class AckCounter extends SimpleChannelInboundHandler<JourneyMessage> {
        private final Semaphore window;
        private final AtomicReference<Throwable> failure;

        AckCounter(Semaphore window, AtomicReference<Throwable> failure) {
            this.window = window;
            this.failure = failure;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, JourneyMessage msg) {
            if (msg instanceof JourneyMessage.Ack) {
                window.release();
            } else {
                failure.compareAndSet(null, new IllegalStateException("type: " + msg.type() + " (expected: ACK)"));
                window.release(WINDOW);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            failure.compareAndSet(null, new IOException("connection closed by the server's end"));
            window.release(WINDOW);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            failure.compareAndSet(null, cause);
            window.release(WINDOW);
            ctx.close();
        }
    }
}
