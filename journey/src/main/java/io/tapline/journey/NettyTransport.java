package io.tapline.journey;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * Picks the Netty transport for the journey link: native epoll when it loads, NIO otherwise.
 * Stateless and thread-safe.
 */
public final class NettyTransport {
    private NettyTransport() {
    }

    /** Seconds a journey connection may be idle before TCP asks the peer whether it is there. */
    public static final int KEEPALIVE_IDLE_SECONDS = 10;
    /** Seconds between two unanswered keepalive probes. */
    public static final int KEEPALIVE_INTERVAL_SECONDS = 5;
    /** Unanswered keepalive probes after which the kernel drops the connection. */
    public static final int KEEPALIVE_PROBES = 3;
    /**
     * Milliseconds sent bytes (or keepalive probes) may stay unacknowledged by the peer's kernel
     * before the connection is dropped ({@code TCP_USER_TIMEOUT}): without it, retransmissions to
     * a peer that is gone go on for about 15 minutes.
     */
    public static final int USER_TIMEOUT_MILLIS = 30_000;

    /**
     * A client bootstrap that notices a peer that vanished without closing (its host lost power,
     * a cable or a firewall dropped the path): SO_KEEPALIVE with probes after
     * {@link #KEEPALIVE_IDLE_SECONDS} of silence and, with epoll, {@link #USER_TIMEOUT_MILLIS}
     * for unacknowledged bytes. The kernel's defaults would wait two hours on an idle link, and
     * the replayer would refuse the source's new connection meanwhile (the volume still has a
     * live session). With NIO only SO_KEEPALIVE is set (the kernel's timings apply).
     */
    public static Bootstrap detectingDeadPeers(Bootstrap b) {
        setDeadPeerOptions(b::option);
        return b;
    }

    /** {@link #detectingDeadPeers(Bootstrap)} for the connections a server accepts. */
    public static ServerBootstrap detectingDeadPeers(ServerBootstrap b) {
        setDeadPeerOptions(b::childOption);
        return b;
    }

    /** Where a bootstrap takes a connection's options: {@code option} or {@code childOption}. */
    private interface OptionSetter {
        <T> Object set(ChannelOption<T> option, T value);
    }

    private static void setDeadPeerOptions(OptionSetter options) {
        options.set(ChannelOption.SO_KEEPALIVE, true);
        if (epoll()) {
            options.set(EpollChannelOption.TCP_KEEPIDLE, KEEPALIVE_IDLE_SECONDS);
            options.set(EpollChannelOption.TCP_KEEPINTVL, KEEPALIVE_INTERVAL_SECONDS);
            options.set(EpollChannelOption.TCP_KEEPCNT, KEEPALIVE_PROBES);
            options.set(EpollChannelOption.TCP_USER_TIMEOUT, USER_TIMEOUT_MILLIS);
        }
    }

    /** Whether the native epoll transport is in use. */
    public static boolean epoll() {
        return Epoll.isAvailable();
    }

    /** A new event loop group of {@code threads} daemon threads named after {@code name}. */
    public static EventLoopGroup newGroup(int threads, String name) {
        IoHandlerFactory factory = epoll() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    }

    /** The client socket channel class matching {@link #newGroup}. */
    public static Class<? extends SocketChannel> socketChannel() {
        return epoll() ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /** The server socket channel class matching {@link #newGroup}. */
    public static Class<? extends ServerChannel> serverSocketChannel() {
        return epoll() ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }
}
