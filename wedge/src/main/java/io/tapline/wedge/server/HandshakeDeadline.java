package io.tapline.wedge.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.ReadTimeoutException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A client must enter transmission within the handshake timeout of connecting, however busy it
 * keeps the negotiation (an idle timer let a client that lists options every 10 s, or sends an
 * option one byte at a time, hold a connection for ever). Removed from the pipeline when the
 * negotiation ends; past the deadline a {@link ReadTimeoutException} closes the connection
 * ({@link ConnectionErrors}).
 */
final class HandshakeDeadline extends ChannelInboundHandlerAdapter {
    private final long timeoutMillis;
    private ScheduledFuture<?> deadline;

    HandshakeDeadline(long timeoutMillis) {
        this.timeoutMillis = timeoutMillis;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            schedule(ctx);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        schedule(ctx);
        super.channelActive(ctx);
    }

    private void schedule(ChannelHandlerContext ctx) {
        if (deadline == null) {
            deadline = ctx.executor().schedule(() -> {
                if (ctx.channel().isActive()) {
                    ctx.fireExceptionCaught(ReadTimeoutException.INSTANCE);
                    ctx.close();
                }
            }, timeoutMillis, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (deadline != null) {
            deadline.cancel(false);
        }
    }
}
