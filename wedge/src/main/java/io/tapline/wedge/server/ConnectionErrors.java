package io.tapline.wedge.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.timeout.ReadTimeoutException;
import io.tapline.wedge.nbd.NbdProtocolException;
import java.io.IOException;
import org.slf4j.Logger;

/** How a connection ends on an error: logged once with context, then closed. Nothing else is affected. */
final class ConnectionErrors {
    private ConnectionErrors() {
    }

    static void closeOnError(Logger log, ChannelHandlerContext ctx, String conn, String export, String phase,
            Throwable cause) {
        Throwable root = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (cause instanceof NbdProtocolException) {
            log.warn("protocol violation, disconnecting conn={} export={} phase={}: {}", conn, export, phase,
                    cause.getMessage());
        } else if (root instanceof ReadTimeoutException) {
            log.warn("handshake not finished in time, disconnecting conn={} export={} phase={}", conn, export, phase);
        } else if (root instanceof IOException) {
            log.debug("connection error conn={} export={} phase={}: {}", conn, export, phase, root.toString());
        } else {
            log.warn("unexpected error, disconnecting conn={} export={} phase={}", conn, export, phase, cause);
        }
        ctx.close();
    }
}
