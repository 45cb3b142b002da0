package io.tapline.replay;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.tapline.journey.JourneyDecoder;
import io.tapline.journey.JourneyEncoder;
import io.tapline.journey.JourneyMessage;
import io.tapline.journey.NettyTransport;
import java.net.InetSocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A bare journey peer for tests: sends what it is told, queues what it receives. */
final class JourneyTestClient implements AutoCloseable {
    private final EventLoopGroup group = NettyTransport.newGroup(1, "test-client");
    private final BlockingQueue<JourneyMessage> received = new LinkedBlockingQueue<>();
    private final Channel channel;

    JourneyTestClient(InetSocketAddress address) throws InterruptedException {
        channel = new Bootstrap().group(group).channel(NettyTransport.socketChannel())
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new JourneyDecoder(), new JourneyEncoder(),
                                new SimpleChannelInboundHandler<JourneyMessage>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, JourneyMessage msg) {
                                        if (msg instanceof JourneyMessage.Control c) {
                                            controls.add(io.tapline.journey.control.ControlCodec.decode(c));
                                        } else {
                                            received.add(msg);
                                        }
                                    }
                                });
                    }
                }).connect(address).sync().channel();
    }

    /** Control messages received (replica state reports, hash replies), kept apart from the data path's. */
    final java.util.concurrent.LinkedBlockingQueue<io.tapline.journey.control.ControlMessage> controls =
            new java.util.concurrent.LinkedBlockingQueue<>();

    void send(JourneyMessage msg) {
        channel.writeAndFlush(msg).syncUninterruptibly();
    }

    /** Sends without waiting for the write (the replayer may have stopped reading). */
    void sendWithoutWaiting(JourneyMessage msg) {
        channel.writeAndFlush(msg);
    }

    /** Takes no more bytes from the socket: the replayer's replies wait, as for a peer that never reads. */
    void stopReading() {
        channel.eventLoop().submit(() -> channel.config().setAutoRead(false)).syncUninterruptibly();
    }

    /** The next message, failing the test after 10 s. */
    JourneyMessage next() throws InterruptedException {
        JourneyMessage m = received.poll(10, TimeUnit.SECONDS);
        if (m == null) {
            throw new AssertionError("no message within 10 s");
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    <T extends JourneyMessage> T next(Class<T> type) throws InterruptedException {
        JourneyMessage m = next();
        if (!type.isInstance(m)) {
            throw new AssertionError("message: " + m + " (expected: " + type.getSimpleName() + ")");
        }
        return (T) m;
    }

    /**
     * Shuts the write side (FIN) and waits for the replayer to close: what was sent is read first.
     * A close right after a write sends an RST when a message of the replayer lies unread here, and
     * the replayer's kernel then drops what it had not read yet.
     */
    boolean finish() {
        ((io.netty.channel.socket.SocketChannel) channel).shutdownOutput().syncUninterruptibly();
        return awaitClosed();
    }

    /** Waits for the replayer to close the connection. */
    boolean awaitClosed() {
        return channel.closeFuture().awaitUninterruptibly(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        if (group.isShuttingDown()) {
            return;
        }
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
