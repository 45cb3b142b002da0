package io.tapline.replay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.tapline.journey.JourneyDecoder;
import io.tapline.journey.JourneyEncoder;
import io.tapline.journey.JourneyMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.function.BiConsumer;

/**
 * A blocking client for one administrator's request to a replayer (the {@code tapline rollback}
 * and {@code tapline resume} commands): sends ADMIN_REQUEST, reports each ADMIN_PROGRESS,
 * returns the ADMIN_DONE. Frames go through the journey codec in an {@link EmbeddedChannel}, so
 * the bytes are exactly those of the protocol.
 *
 * <p>Not thread-safe; one request per call.
 */
public final class AdminClient {
    private AdminClient() {
    }

    /**
     * @param progress told (done, total) as undo records are applied
     * @throws IOException when the connection fails or closes before ADMIN_DONE
     */
    public static JourneyMessage.AdminDone request(InetSocketAddress remote, JourneyMessage.AdminRequest req,
            int timeoutMillis, BiConsumer<Long, Long> progress) throws IOException {
        return request(remote, req, timeoutMillis, progress, null);
    }

    /**
     * As {@link #request(InetSocketAddress, JourneyMessage.AdminRequest, int, BiConsumer)}, over
     * TLS when {@code tls} is given: this side's certificate names the actor, and the replayer's
     * certificate must name the address dialled.
     */
    public static JourneyMessage.AdminDone request(InetSocketAddress remote, JourneyMessage.AdminRequest req,
            int timeoutMillis, BiConsumer<Long, Long> progress, javax.net.ssl.SSLContext tls) throws IOException {
        EmbeddedChannel codec = new EmbeddedChannel(new JourneyDecoder(), new JourneyEncoder());
        try (Socket plain = new Socket()) {
            try {
                plain.connect(remote, timeoutMillis);
            } catch (IOException e) {
                throw new IOException("connect " + remote.getHostString() + ":" + remote.getPort() + ": "
                        + e.getMessage(), e);
            }
            plain.setSoTimeout(timeoutMillis);
            Socket socket = tls == null ? plain : secure(plain, remote, tls);
            OutputStream out = socket.getOutputStream();
            codec.writeOutbound(req);
            ByteBuf frame = codec.readOutbound();
            try {
                byte[] bytes = new byte[frame.readableBytes()];
                frame.readBytes(bytes);
                out.write(bytes);
                out.flush();
            } finally {
                frame.release();
            }
            InputStream in = socket.getInputStream();
            byte[] buf = new byte[8192];
            while (true) {
                Object msg;
                while ((msg = codec.readInbound()) != null) {
                    if (msg instanceof JourneyMessage.AdminProgress p) {
                        progress.accept(p.done(), p.total());
                    } else if (msg instanceof JourneyMessage.AdminDone d) {
                        return d;
                    } else if (msg instanceof JourneyMessage.Refused r) {
                        return new JourneyMessage.AdminDone(false, 0, r.reason());
                    } else if (msg instanceof JourneyMessage.Error e) {
                        return new JourneyMessage.AdminDone(false, 0, e.message());
                    }
                }
                int n;
                try {
                    n = in.read(buf);
                } catch (java.net.SocketTimeoutException e) {
                    // Not "Read timed out": the replayer may still be doing it (probe O O11: a rollback on a
                    // slow disk went on and completed after the client gave up).
                    throw new IOException("no answer from replayer " + remote.getHostString() + ":" + remote.getPort()
                            + " within " + timeoutMillis / 1000 + " s to the " + actionName(req.action())
                            + " of volume " + req.volumeId() + ": it may still be running there (tapline window /"
                            + " status --data show where the volume is; its log says when it ends)", e);
                }
                if (n < 0) {
                    throw new IOException("replayer " + remote + " closed the connection before answering the "
                            + actionName(req.action()) + " of volume " + req.volumeId() + " (it stopped? its log says;"
                            + " a restarted replayer finishes an interrupted rollback before it accepts a source"
                            + (tls == null ? "; a replayer that expects TLS closes a plain client: --tls-cert/--tls-key/--tls-ca"
                                    : "") + ")");
                }
                codec.writeInbound(Unpooled.copiedBuffer(buf, 0, n));
            }
        } finally {
            codec.finishAndReleaseAll();
        }
    }

    /** The request's action in words; never the request itself, which carries the credential. */
    private static String actionName(int action) {
        return switch (action) {
            case JourneyMessage.AdminRequest.ROLLBACK -> "rollback";
            case JourneyMessage.AdminRequest.RESUME -> "resume";
            case JourneyMessage.AdminRequest.PROMOTE -> "promotion";
            case JourneyMessage.AdminRequest.DEMOTE -> "demotion";
            default -> "request " + action;
        };
    }

    private static Socket secure(Socket plain, InetSocketAddress remote, javax.net.ssl.SSLContext tls)
            throws IOException {
        javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) tls.getSocketFactory().createSocket(plain,
                remote.getHostString(), remote.getPort(), true);
        javax.net.ssl.SSLParameters p = s.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        s.setSSLParameters(p);
        try {
            s.startHandshake();
        } catch (IOException e) {
            throw new IOException("tls handshake with " + remote.getHostString() + ":" + remote.getPort() + ": "
                    + e.getMessage(), e);
        }
        return s;
    }
}
