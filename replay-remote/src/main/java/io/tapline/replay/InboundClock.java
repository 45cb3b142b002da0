package io.tapline.replay;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * First in a journey connection's pipeline: notes when bytes last arrived, before any decoding,
 * so that a source whose frames cross a slow line slowly still counts as heard (a session's
 * decoded messages may be many seconds apart there). {@link ReplaySession} asks it how long a
 * connection has been silent.
 *
 * <p>Thread-safety: written on the channel's event loop, read from any thread.
 */
final class InboundClock extends ChannelInboundHandlerAdapter {
    private volatile long lastReadNanos = System.nanoTime();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastReadNanos = System.nanoTime();
        ctx.fireChannelRead(msg);
    }

    /** {@link System#nanoTime} of the last bytes received (of the connection's start before any). */
    long lastReadNanos() {
        return lastReadNanos;
    }
}
