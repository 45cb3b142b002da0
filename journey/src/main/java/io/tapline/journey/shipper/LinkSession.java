package io.tapline.journey.shipper;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.tapline.journey.BatchFrame;
import io.tapline.journey.ConnectionErrorText;
import io.tapline.journey.JourneyMessage;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One connection of a shipper to its replayer: the handshake, the window of batches in flight
 * and their acknowledgements.
 *
 * <p>Threads: inbound messages arrive on the channel's event loop; {@link #send} and
 * {@link #awaitWelcome} are called by the shipper's thread. The in-flight queue is guarded by
 * {@code this}. An ACK is checked against the oldest batch in flight (the replayer applies and
 * acknowledges in order); at the end of the read burst the highest one is handed to
 * {@code onAck} on the event loop, which records the cursor in the capture buffer, and only then
 * are the window slots of the burst's batches freed.
 */
final class LinkSession extends SimpleChannelInboundHandler<JourneyMessage> {

    /** The peer as a connection error names it ({@link ConnectionErrorText}). */
    static final String REPLAYER = "the replayer";

    /** What is remembered of a batch until its ACK. */
    private record InFlight(long batchId, long lastSequence, int crc32c, int wireBytes, long sentNanos) {
    }

    /** The window's slots; it may shrink below the slots in use (they then drain before any is taken). */
    private static final class Window extends Semaphore {
        private static final long serialVersionUID = 1L;

        Window(int slots) {
            super(slots);
        }

        void shrink(int slots) {
            reducePermits(slots);
        }
    }

    private final Window window;
    /** The window's current size; the shipper's thread only. */
    private int windowSize;
    private final AckListener onAck;
    private final java.util.function.Consumer<io.tapline.journey.control.ReplicaStateReport> onReplicaState;
    private final java.util.concurrent.ConcurrentHashMap<Long,
            CompletableFuture<io.tapline.journey.control.ChunkHashReply>> hashRequests =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    private final CompletableFuture<Long> welcome = new CompletableFuture<>();
    private final CompletableFuture<String> failure = new CompletableFuture<>();
    private volatile Channel channel;
    /** Event loop only: the highest verified ACK not yet recorded, and the window slots it frees. */
    private long pendingAck = -1;
    private int pendingReleases;
    /** Bytes of the acknowledged batches as they crossed the line (compressed). */
    private volatile long ackedWireBytes;
    /** The shortest time from sending a batch to its ACK; -1 before the first. */
    private volatile long minRttNanos = -1;
    /** When the replayer last said anything on this connection ({@link System#nanoTime}). */
    private volatile long lastHeardNanos = System.nanoTime();
    /** How often the replayer said it repeats its state (its heartbeat); 0 until it says so. */
    private volatile long heartbeatNanos;

    /** Called on the event loop for each verified ACK; may throw to fail the session. */
    interface AckListener {
        void acked(long lastAppliedSequence) throws IOException;
    }

    LinkSession(int maxInFlightBatches, AckListener onAck,
            java.util.function.Consumer<io.tapline.journey.control.ReplicaStateReport> onReplicaState) {
        this.window = new Window(maxInFlightBatches);
        this.windowSize = maxInFlightBatches;
        this.onAck = onAck;
        this.onReplicaState = onReplicaState;
        failure.thenAccept(reason -> hashRequests.values()
                .forEach(f -> f.completeExceptionally(new IOException("session ended: " + reason))));
    }

    /** Sends a chunk-hash request; the future completes with the reply of the same id. */
    CompletableFuture<io.tapline.journey.control.ChunkHashReply> requestHashes(
            io.tapline.journey.control.ChunkHashRequest request) {
        CompletableFuture<io.tapline.journey.control.ChunkHashReply> f = new CompletableFuture<>();
        hashRequests.put(request.requestId(), f);
        if (!alive()) {
            hashRequests.remove(request.requestId());
            f.completeExceptionally(new IOException("session ended: " + failureReason()));
            return f;
        }
        channel.writeAndFlush(io.tapline.journey.control.ControlCodec.encode(request)).addListener(w -> {
            if (!w.isSuccess()) {
                hashRequests.remove(request.requestId());
                f.completeExceptionally(new IOException("sending hash request: " + w.cause()));
            }
        });
        return f;
    }

    /** Sends a control message that expects no answer. */
    void sendControl(io.tapline.journey.control.ControlMessage message) {
        channel.writeAndFlush(io.tapline.journey.control.ControlCodec.encode(message));
    }

    /**
     * Sends {@code lastWord} and ends the connection in order: the write side is shut (FIN) and the
     * replayer, reading to the end, closes; waits at most {@code millis} for that. A plain close
     * right after the write sent an RST whenever a heartbeat of the replayer lay unread here, and
     * an RST makes the replayer's kernel drop what it had received and not yet read: the last word
     * with it (CI, a test that closed right after writing it).
     */
    void sendLastAndFinish(io.tapline.journey.control.ControlMessage lastWord, long millis) {
        Channel ch = channel;
        if (ch == null) {
            return;
        }
        io.netty.channel.ChannelFuture written = ch.writeAndFlush(io.tapline.journey.control.ControlCodec.encode(lastWord));
        if (written.awaitUninterruptibly(millis) && written.isSuccess()
                && ch instanceof io.netty.channel.socket.SocketChannel socket) {
            socket.shutdownOutput().awaitUninterruptibly(millis);
            ch.closeFuture().awaitUninterruptibly(millis);
        }
    }

    private void onControl(JourneyMessage.Control control) {
        io.tapline.journey.control.ControlMessage m;
        try {
            m = io.tapline.journey.control.ControlCodec.decode(control);
        } catch (RuntimeException e) {
            fail("protocol: " + e.getMessage());
            return;
        }
        if (m instanceof io.tapline.journey.control.ReplicaStateReport report) {
            if (report.heartbeatMillis() > 0) {
                heartbeatNanos = TimeUnit.MILLISECONDS.toNanos(report.heartbeatMillis());
            }
            onReplicaState.accept(report);
        } else if (m instanceof io.tapline.journey.control.ChunkHashReply reply) {
            CompletableFuture<io.tapline.journey.control.ChunkHashReply> f = hashRequests.remove(reply.requestId());
            if (f != null) {
                f.complete(reply);
            }
        } else {
            fail("protocol: control: " + m.getClass().getSimpleName()
                    + " (expected: ReplicaStateReport or ChunkHashReply)");
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        channel = ctx.channel();
        super.channelActive(ctx);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, JourneyMessage msg) {
        lastHeardNanos = System.nanoTime();
        if (msg instanceof JourneyMessage.Welcome w) {
            if (!welcome.complete(w.lastAppliedSequence())) {
                fail("protocol: WELCOME received twice");
            }
        } else if (msg instanceof JourneyMessage.Refused r) {
            fail("refused by replayer: " + r.reason());
        } else if (msg instanceof JourneyMessage.Error e) {
            fail("replayer error: " + e.message());
        } else if (msg instanceof JourneyMessage.Ack a) {
            onAck(a);
        } else if (msg instanceof JourneyMessage.Control c) {
            onControl(c);
        } else {
            fail("protocol: type: " + msg.type() + " (expected: WELCOME, REFUSED, ACK or ERROR)");
        }
    }

    private void onAck(JourneyMessage.Ack ack) {
        InFlight head;
        synchronized (this) {
            head = inFlight.poll();
        }
        if (head == null || head.batchId() != ack.batchId()) {
            fail("protocol: ACK batchId: " + ack.batchId() + " (expected: "
                    + (head == null ? "none in flight" : head.batchId()) + ")");
            return;
        }
        if (head.crc32c() != ack.crc32c()) {
            fail(String.format("ACK crc32c: 0x%08x (expected: 0x%08x) batch=%d: replayer stored other bytes",
                    ack.crc32c(), head.crc32c(), ack.batchId()));
            return;
        }
        if (ack.lastAppliedSequence() < head.lastSequence()) {
            fail("ACK lastAppliedSequence: " + ack.lastAppliedSequence() + " (expected: >= " + head.lastSequence()
                    + ") batch=" + ack.batchId());
            return;
        }
        // Recorded once per read burst (channelReadComplete): a replayer's group commit ACKs
        // several batches back to back, and each durable cursor write costs two fsyncs.
        pendingAck = Math.max(pendingAck, ack.lastAppliedSequence());
        pendingReleases++;
        ackedWireBytes += head.wireBytes(); // event loop only; read by the shipper's thread
        long rtt = System.nanoTime() - head.sentNanos();
        if (minRttNanos < 0 || rtt < minRttNanos) {
            minRttNanos = rtt;
        }
    }

    /**
     * Why this session should end because the replayer stopped answering, or null while it
     * answers: nothing at all came from it for {@code timeoutNanos} (at least three of its
     * heartbeats), although it announced that it repeats its state every so often
     * ({@link io.tapline.journey.control.ReplicaStateReport#heartbeatMillis}). A replayer process
     * that hangs (stopped, stuck) keeps its TCP connection up and its kernel takes the bytes, and
     * a path that vanished drops packets without a word: only the silence tells. A slow line
     * does not: the heartbeats come back while a batch takes long to cross. Null as well with a
     * timeout of 0 (off), and with a replayer that never announced a heartbeat (an older one). Any
     * thread.
     */
    String unanswered(long nowNanos, long timeoutNanos) {
        long heartbeat = heartbeatNanos;
        if (timeoutNanos <= 0 || heartbeat == 0) {
            return null;
        }
        long limit = Math.max(timeoutNanos, 3 * heartbeat);
        long silentNanos = nowNanos - lastHeardNanos;
        if (silentNanos <= limit) {
            return null;
        }
        int waiting;
        synchronized (this) {
            waiting = inFlight.size();
        }
        return "replayer not answering: nothing heard for " + TimeUnit.NANOSECONDS.toMillis(silentNanos)
                + " ms (it reports every " + TimeUnit.NANOSECONDS.toMillis(heartbeat) + " ms; timeout "
                + TimeUnit.NANOSECONDS.toMillis(limit) + " ms), " + waiting
                + (waiting == 1 ? " batch waits" : " batches wait");
    }

    /** The shortest round trip of a batch (sent to acknowledged) in this session; -1 before the first. */
    long minRttNanos() {
        return minRttNanos;
    }

    /** Makes the window {@code slots} batches; the shipper's thread only. */
    void resizeWindow(int slots) {
        if (slots > windowSize) {
            window.release(slots - windowSize);
        } else if (slots < windowSize) {
            window.shrink(windowSize - slots);
        }
        windowSize = slots;
    }

    /** The window's current size in batches. */
    int windowSize() {
        return windowSize;
    }

    /** Bytes of this session's acknowledged batches as they crossed the line. */
    long ackedWireBytes() {
        return ackedWireBytes;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (pendingReleases > 0 && failureReason() == null) {
            long seq = pendingAck;
            int releases = pendingReleases;
            pendingReleases = 0;
            // The replayer applied them durably: the window opens now, before the source records
            // the ACK (which it does off this event loop, see AckRecorder).
            window.release(releases);
            try {
                onAck.acked(seq);
            } catch (IOException | RuntimeException e) {
                fail("recording ACK of seq " + seq + " in the capture buffer: " + e);
                return;
            }
        }
        super.channelReadComplete(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        // The replayer, or anything between (a firewall, a proxy): no REFUSED or ERROR came first.
        fail(welcome.isDone() ? "connection closed by the peer" : "connection closed by the peer before it answered"
                + " HELLO (a replayer that expects TLS closes a plain client: --tls-cert/--tls-key/--tls-ca)");
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof io.netty.handler.ssl.NotSslRecordException) {
                // Its message is a hex dump of the peer's plain answer (probe Q D3): say what it means.
                fail("the peer does not speak TLS (its answer is no TLS record): give both sides"
                        + " --tls-cert/--tls-key/--tls-ca, or neither");
                return;
            }
        }
        fail(ConnectionErrorText.describe(cause, REPLAYER));
    }

    /** Whether the channel has a TLS handler whose handshake has not completed (probe AA D3: it said "no WELCOME"). */
    private boolean tlsHandshakePending() {
        Channel c = channel;
        io.netty.handler.ssl.SslHandler tls = c == null ? null : c.pipeline().get(io.netty.handler.ssl.SslHandler.class);
        return tls != null && !tls.handshakeFuture().isSuccess();
    }

    /** Waits for WELCOME; returns the replayer's last applied sequence. */
    long awaitWelcome(long timeoutMillis) throws IOException, InterruptedException {
        try {
            CompletableFuture<Object> either = CompletableFuture.anyOf(welcome, failure);
            Object result = either.get(timeoutMillis, TimeUnit.MILLISECONDS);
            if (result instanceof Long lastApplied) {
                return lastApplied;
            }
            throw new IOException(String.valueOf(result));
        } catch (TimeoutException e) {
            String why = tlsHandshakePending()
                    ? "handshake: the TLS handshake did not complete within " + timeoutMillis + " ms (the path drops"
                    + " or stalls its packets, e.g. large ones, or the replayer is hung)"
                    : "handshake: no WELCOME within " + timeoutMillis + " ms (a replayer opening a volume with a long"
                    + " audit log checks its whole chain first; else it is hung or gone)";
            fail(why);
            throw new IOException(why, e);
        } catch (ExecutionException e) {
            throw new IOException(e.getCause());
        }
    }

    /** Takes one slot of the window, waiting up to {@code timeoutMillis}. */
    boolean acquireSlot(long timeoutMillis) throws InterruptedException {
        return window.tryAcquire(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    /** Gives back a slot taken for a batch that was not sent. */
    void releaseSlot() {
        window.release();
    }

    /** Sends a batch built as a frame; a slot must have been acquired for it. The channel owns the frame. */
    void send(BatchFrame batch) {
        synchronized (this) {
            inFlight.add(new InFlight(batch.batchId(), batch.lastSequence(), batch.crc32c(), batch.bodyBytes(),
                    System.nanoTime()));
        }
        channel.writeAndFlush(batch.frame()).addListener(f -> {
            if (!f.isSuccess()) {
                fail("sending batch " + batch.batchId() + ": " + ConnectionErrorText.describe(f.cause(), REPLAYER));
            }
        });
    }

    /** Where this session's frames are allocated: the channel's allocator. */
    ByteBufAllocator alloc() {
        return channel.alloc();
    }

    /** Sends a fatal ERROR and closes. */
    void abort(String message) {
        Channel ch = channel;
        if (ch != null && ch.isActive()) {
            ch.writeAndFlush(new JourneyMessage.Error(message));
        }
        fail(message);
    }

    /** Ends the session with {@code reason}; the first reason wins. Idempotent, any thread. */
    void fail(String reason) {
        failure.complete(reason);
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
    }

    void attach(Channel ch) {
        channel = ch;
    }

    boolean alive() {
        return !failure.isDone();
    }

    /** Why the session ended, or null while alive. */
    String failureReason() {
        return failure.getNow(null);
    }
}
