package io.tapline.journey;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The failures a journey link meets, made by real sockets through the transport the link uses
 * (epoll where it runs), said in words with the kernel's text kept: probe AA D5 found
 * {@code recvAddress(..) failed with error(-104): Connection reset by peer} and
 * {@code StacklessClosedChannelException} in status.
 */
class ConnectionErrorTextTest {

    private static EventLoopGroup group;

    @BeforeAll
    static void start() {
        group = NettyTransport.newGroup(1, "error-text-test");
    }

    @AfterAll
    static void stop() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private static Bootstrap client(CompletableFuture<Throwable> caught) {
        return new Bootstrap().group(group).channel(NettyTransport.socketChannel())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                caught.complete(cause);
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                caught.complete(null);
                            }
                        });
                    }
                });
    }

    @Test
    void aResetByThePeerIsSaidAsSuchWithTheKernelsText() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            CompletableFuture<Throwable> caught = new CompletableFuture<>();
            ChannelFuture connect = client(caught).connect(server.getLocalSocketAddress()).sync();
            try (Socket accepted = server.accept()) {
                accepted.setSoLinger(true, 0); // close sends RST
            }
            Throwable cause = caught.get(10, TimeUnit.SECONDS);
            connect.channel().close().sync();
            assertTrue(cause instanceof IOException, "a reset reached the handler: " + cause);
            String text = ConnectionErrorText.describe(cause, "the replayer");
            assertTrue(text.startsWith("the connection was reset: the replayer's end was closed abruptly"), text);
            assertTrue(text.endsWith("(Connection reset by peer)"), text);
            assertFalse(text.contains("recvAddress"), text);
        }
    }

    @Test
    void aRefusedConnectionSaysNothingListens() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        ChannelFuture connect = client(new CompletableFuture<>())
                .connect(new InetSocketAddress("127.0.0.1", port)).await();
        assertFalse(connect.isSuccess());
        String text = ConnectionErrorText.describe(connect.cause(), "the replayer");
        assertTrue(text.startsWith("connection refused: nothing listens at that address and port ("), text);
    }

    @Test
    void aWriteOnAClosedChannelSaysTheConnectionWasClosedFirst() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Channel ch = client(new CompletableFuture<>()).connect(server.getLocalSocketAddress()).sync().channel();
            server.accept().close();
            ch.close().sync();
            ChannelFuture write = ch.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1})).await();
            assertFalse(write.isSuccess());
            assertEquals("the connection was already closed when data was sent on it (the replayer or the"
                    + " network ended it first)", ConnectionErrorText.describe(write.cause(), "the replayer"));
        }
    }

    @Test
    void anUnknownFailureKeepsItsOwnMessage() {
        assertEquals("protocol: bad frame",
                ConnectionErrorText.describe(new IOException("protocol: bad frame"), "the source"));
        assertEquals("java.io.IOException", ConnectionErrorText.describe(new IOException(), "the source"));
        assertEquals(null, ConnectionErrorText.describeKnown(new IOException("x"), "the source"));
    }
}
