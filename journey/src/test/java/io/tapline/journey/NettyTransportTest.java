package io.tapline.journey;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The journey link's sockets on both ends notice a vanished peer in seconds, not the kernel's two
 * hours: keepalive probes and the user timeout are set on the connected sockets themselves.
 */
class NettyTransportTest {
    @Test
    void bothEndsOfALinkProbeAQuietPeerAndDropAnUnanswering() throws Exception {
        assertTrue(NettyTransport.epoll(), "the native epoll transport loads on Linux (the link's options need it)");
        EventLoopGroup group = NettyTransport.newGroup(1, "transport-test");
        try {
            CompletableFuture<Channel> accepted = new CompletableFuture<>();
            Channel server = NettyTransport.detectingDeadPeers(new ServerBootstrap().group(group))
                    .channel(NettyTransport.serverSocketChannel())
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelActive(ChannelHandlerContext ctx) {
                            accepted.complete(ctx.channel());
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            Channel client = NettyTransport.detectingDeadPeers(new Bootstrap().group(group))
                    .channel(NettyTransport.socketChannel()).handler(new ChannelInboundHandlerAdapter())
                    .connect(server.localAddress()).sync().channel();
            for (Channel end : new Channel[] {client, accepted.get(10, TimeUnit.SECONDS)}) {
                assertEquals(true, end.config().getOption(ChannelOption.SO_KEEPALIVE), "SO_KEEPALIVE " + end);
                assertEquals(10, end.config().getOption(EpollChannelOption.TCP_KEEPIDLE), "TCP_KEEPIDLE " + end);
                assertEquals(5, end.config().getOption(EpollChannelOption.TCP_KEEPINTVL), "TCP_KEEPINTVL " + end);
                assertEquals(3, end.config().getOption(EpollChannelOption.TCP_KEEPCNT), "TCP_KEEPCNT " + end);
                assertEquals(30_000, end.config().getOption(EpollChannelOption.TCP_USER_TIMEOUT),
                        "TCP_USER_TIMEOUT " + end);
            }
            client.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
