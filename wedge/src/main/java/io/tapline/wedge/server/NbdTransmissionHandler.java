package io.tapline.wedge.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.tapline.log.Bus;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.wedge.capture.CompletionListener;
import io.tapline.wedge.capture.WriteCommand;
import io.tapline.wedge.capture.WriteOutcome;
import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdError;
import io.tapline.nbd.NbdFlags;
import io.tapline.wedge.nbd.NbdRejectedRequest;
import io.tapline.wedge.nbd.NbdRequest;
import io.tapline.wedge.nbd.NbdRequestDecoder;
import io.tapline.wedge.nbd.NbdSimpleReply;
import io.tapline.wedge.nbd.NbdTransmissionRequest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one connection in the transmission phase: write-nature commands go to the export's
 * sequencer, READ to the reader executor, CACHE is answered at once (the page cache does the
 * rest), DISC closes the connection once every accepted request was answered.
 *
 * <p>While the export is standby (see {@link Export}) every data command (READ, WRITE, TRIM,
 * WRITE_ZEROES, FLUSH, CACHE) that passed validation is answered with EPERM; DISC works as
 * usual. The first refusal per connection is logged at WARN with the reason, later ones at DEBUG.
 *
 * <p>Replies completed on other threads are queued and written by one event-loop task per batch,
 * with one socket flush. While the WRITE payloads and READ lengths in flight exceed the configured
 * limit, or the replies queued for the socket pass its high-water mark, the connection stops
 * reading (back-pressure without blocking the event loop).
 *
 * <p>Rejected requests are answered with their error; the first one per connection is logged at
 * WARN with context, later ones at DEBUG, and the count is logged when the connection ends.
 *
 * <p>Fields without synchronisation are touched only on the channel's event loop.
 */
final class NbdTransmissionHandler extends SimpleChannelInboundHandler<NbdTransmissionRequest>
        implements CompletionListener {
    private static final Logger log = LoggerFactory.getLogger(NbdTransmissionHandler.class);

    private final Export export;
    private final String conn;
    private final Queue<Completed> completed = new ConcurrentLinkedQueue<>();
    /** Write-nature commands of the current read, submitted together at its end (event loop only). */
    private final List<WriteCommand> pendingCommands = new ArrayList<>();
    private final List<NbdRequest> pendingRequests = new ArrayList<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private ChannelHandlerContext ctx;
    private volatile int inFlight;
    private long inFlightBytes;
    /** READ bytes handed to the readers and not yet answered (event loop only). */
    private long readBytesDispatched;
    /** READs decoded while the reads in flight were at the limit, in order (event loop only). */
    private final java.util.ArrayDeque<NbdRequest> deferredReads = new java.util.ArrayDeque<>();
    private boolean disconnecting;
    private boolean needsFlush;
    private long rejected;
    private long notPromoted;
    private volatile boolean stopped;
    /** The connection's request decoder, found on first need (event loop only). */
    private NbdRequestDecoder decoder;

    NbdTransmissionHandler(Export export, String conn) {
        this.export = export;
        this.conn = conn;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (!export.connections.add(this)) {
            // The export was replaced or removed while this client negotiated for it.
            log.debug("export gone before transmission, closing conn={} export={}", conn, export.name);
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        submitPending(); // requests decoded from the last bytes, if no read completion followed them
        inFlight -= deferredReads.size(); // never dispatched: nothing will answer them
        deferredReads.clear();
        export.connections.remove(this);
        if (rejected > 1 || notPromoted > 1) {
            log.info("connection closed after rejected requests conn={} export={} rejected={} notPromoted={}", conn,
                    export.name, rejected, notPromoted);
        } else {
            log.debug("connection closed conn={} export={}", conn, export.name);
        }
        ctx.fireChannelInactive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, NbdTransmissionRequest msg) {
        if (disconnecting) {
            log.debug("request after NBD_CMD_DISC ignored conn={} export={} cookie={}", conn, export.name, msg.cookie());
            return;
        }
        if (msg instanceof NbdRejectedRequest r) {
            reject(r);
            return;
        }
        NbdRequest req = (NbdRequest) msg;
        String standbyReason = export.standbyReason();
        if (standbyReason != null && req.command() != NbdCommand.DISC) {
            refuseNotPromoted(req, standbyReason);
            return;
        }
        switch (req.command()) {
            case READ -> read(req);
            case WRITE -> submit(req, RecordKind.WRITE);
            case TRIM -> submit(req, RecordKind.DISCARD);
            case FLUSH -> submit(req, RecordKind.FLUSH);
            case WRITE_ZEROES -> {
                if (req.hasFlag(NbdFlags.CMD_FLAG_FAST_ZERO)) {
                    // proto.md: a server that cannot promise a fast zero fails it with ENOTSUP.
                    replyNow(req.cookie(), NbdError.ENOTSUP);
                } else {
                    submit(req, RecordKind.WRITE_ZEROES);
                }
            }
            case CACHE -> replyNow(req.cookie(), NbdError.OK);
            case DISC -> endRequests("disconnect requested");
            default -> replyNow(req.cookie(), NbdError.EINVAL);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        submitPending();
        if (needsFlush) {
            needsFlush = false;
            ctx.flush();
        }
        ctx.fireChannelReadComplete();
    }

    private void reject(NbdRejectedRequest r) {
        rejected++;
        if (rejected == 1) {
            log.warn("rejected request conn={} export={} cmd={} cookie={} offset={} length={} error={}: {}", conn,
                    export.name, r.commandName(), r.cookie(), Long.toUnsignedString(r.offsetBytes()), r.lengthBytes(),
                    r.error(), r.reason());
        } else {
            log.debug("rejected request conn={} export={} cmd={} offset={} length={} error={}: {}", conn, export.name,
                    r.commandName(), Long.toUnsignedString(r.offsetBytes()), r.lengthBytes(), r.error(), r.reason());
        }
        replyNow(r.cookie(), r.error());
    }

    private void refuseNotPromoted(NbdRequest req, String reason) {
        notPromoted++;
        if (notPromoted == 1) {
            log.warn("data command refused with EPERM conn={} export={} cmd={} cookie={} offset={} length={}:"
                    + " not promoted: {}", conn, export.name, req.command(), req.cookie(),
                    Long.toUnsignedString(req.offsetBytes()), req.lengthBytes(), reason);
        } else {
            log.debug("data command refused with EPERM conn={} export={} cmd={} offset={} length={}: not promoted: {}",
                    conn, export.name, req.command(), Long.toUnsignedString(req.offsetBytes()), req.lengthBytes(),
                    reason);
        }
        replyNow(req.cookie(), NbdError.EPERM);
    }

    private void replyNow(long cookie, NbdError error) {
        ctx.write(NbdSimpleReply.of(cookie, error), ctx.voidPromise());
        needsFlush = true;
    }

    private void submit(NbdRequest req, RecordKind kind) {
        int flags = (req.hasFlag(NbdFlags.CMD_FLAG_FUA) ? CaptureRecord.FLAG_FUA : 0)
                | (req.hasFlag(NbdFlags.CMD_FLAG_NO_HOLE) ? CaptureRecord.FLAG_NO_HOLE : 0);
        Provenance provenance = new Provenance(Bus.WEDGE, conn, export.name, req.cookie(), 0,
                req.command().wireValue());
        // Counted before the hand-off: a completion may be queued before submit returns.
        countInFlight(req.payload().length);
        pendingRequests.add(req);
        pendingCommands.add(new WriteCommand(kind, req.offsetBytes(), req.lengthBytes(), flags, provenance,
                req.payload(), this));
    }

    /** One more request in flight, of {@code bytes}: past the limit the connection stops reading requests. */
    private void countInFlight(long bytes) {
        inFlight++;
        inFlightBytes += bytes;
        if (inFlightBytes > export.maxInFlightBytes && ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    /**
     * Hands the write-nature commands of one read to the sequencer together, in their order: a
     * run of small writes may then be captured and applied at once on this thread
     * ({@link io.tapline.wedge.capture.VolumeSequencer#submitAll}).
     */
    private void submitPending() {
        if (pendingCommands.isEmpty()) {
            return;
        }
        try {
            if (!export.submitAll(pendingCommands)) {
                // The export went standby since channelRead0 looked: the gate, not that look, decides.
                for (NbdRequest req : pendingRequests) {
                    inFlight--;
                    inFlightBytes -= req.payload().length;
                    refuseNotPromoted(req, export.standbyReason());
                }
            }
        } finally {
            pendingCommands.clear();
            pendingRequests.clear();
        }
    }

    private void read(NbdRequest req) {
        // Reads count against the same limit as WRITE payloads: a client that pipelines many large
        // reads makes the connection stop reading requests, instead of the wedge allocating a
        // reply buffer for each (direct memory runs out, and then nothing answers them). The
        // requests already decoded from one socket read (2000 READs of 32 MiB fit in 56 KB) wait
        // here, not on the readers' queue: only the limit's worth of reply buffers is taken, and
        // other connections' reads are not queued behind them.
        countInFlight(req.lengthBytes());
        if (!deferredReads.isEmpty() || readBytesDispatched > 0
                && readBytesDispatched + req.lengthBytes() > export.maxInFlightBytes) {
            deferredReads.add(req);
            return;
        }
        dispatchRead(req);
    }

    /** Reads deferred by {@link #read} go to the readers as the connection's reads in flight allow. */
    private void dispatchDeferredReads() {
        NbdRequest next;
        // Not while the replies already written wait for the socket (a client that takes none):
        // each holds its buffer until it is sent.
        while (ctx.channel().isWritable() && (next = deferredReads.peek()) != null && (readBytesDispatched == 0
                || readBytesDispatched + next.lengthBytes() <= export.maxInFlightBytes)) {
            deferredReads.poll();
            dispatchRead(next);
        }
    }

    private void dispatchRead(NbdRequest req) {
        readBytesDispatched += req.lengthBytes();
        long held = export.readReplyBytes.addAndGet(req.lengthBytes());
        export.readReplyBytesPeak.accumulateAndGet(held, Math::max);
        try {
            export.readers.execute(() -> serveRead(req));
        } catch (RejectedExecutionException e) {
            complete(new Completed(req.cookie(), NbdError.ESHUTDOWN, null, req.lengthBytes(), true));
            onBatchEnd();
        }
    }

    private void serveRead(NbdRequest req) {
        int length = (int) req.lengthBytes();
        Completed result;
        ByteBuf buf = null;
        try {
            buf = ctx.alloc().directBuffer(length);
            export.primary.read(req.offsetBytes(), buf.nioBuffer(0, length));
            buf.writerIndex(length);
            result = new Completed(req.cookie(), NbdError.OK, buf, length, true);
        } catch (OutOfMemoryError e) {
            // No memory for the reply buffer (direct memory is capped): the request is still answered.
            if (buf != null) {
                buf.release();
            }
            log.warn("read refused with ENOMEM conn={} export={} offset={} length={}: {}", conn, export.name,
                    req.offsetBytes(), length, e.getMessage());
            result = new Completed(req.cookie(), NbdError.ENOMEM, null, length, true);
        } catch (IOException | RuntimeException e) {
            if (buf != null) {
                buf.release();
            }
            log.error("read failed, replying EIO conn={} export={} offset={} length={}", conn, export.name,
                    req.offsetBytes(), length, e);
            result = new Completed(req.cookie(), NbdError.EIO, null, length, true);
        }
        complete(result);
        onBatchEnd();
    }

    @Override
    public void onComplete(WriteCommand command, WriteOutcome outcome, long sequence) {
        NbdError error = switch (outcome) {
            case OK -> NbdError.OK;
            case IO_ERROR -> NbdError.EIO;
            case NO_SPACE -> NbdError.ENOSPC;
            case SHUT_DOWN -> NbdError.ESHUTDOWN;
        };
        complete(new Completed(command.provenance().tag(), error, null, command.payload().length, false));
        export.payloads.give(command.payload()); // captured, applied, answered: nobody reads it any more
    }

    private void complete(Completed c) {
        completed.add(c);
    }

    @Override
    public void onBatchEnd() {
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                ctx.executor().execute(this::drain);
            } catch (RejectedExecutionException e) {
                // The event loop is gone (server shut down): the channel is closed, so release the replies.
                releaseAll();
            }
        }
    }

    private void drain() {
        drainScheduled.set(false);
        boolean active = ctx.channel().isActive();
        Completed c;
        int written = 0;
        while ((c = completed.poll()) != null) {
            inFlight--;
            inFlightBytes -= c.payloadBytes;
            if (c.read) {
                readBytesDispatched -= c.payloadBytes;
            }
            NbdSimpleReply reply = c.data == null ? NbdSimpleReply.of(c.cookie, c.error)
                    : NbdSimpleReply.withData(c.cookie, c.data);
            long replyBytes = c.read ? c.payloadBytes : 0;
            if (active && c.data != null) {
                ctx.write(reply).addListener(f -> export.readReplyBytes.addAndGet(-replyBytes)); // once sent or failed
                written++;
            } else if (active) {
                export.readReplyBytes.addAndGet(-replyBytes);
                ctx.write(reply, ctx.voidPromise());
                written++;
            } else {
                export.readReplyBytes.addAndGet(-replyBytes);
                reply.release();
            }
        }
        if (written > 0) {
            ctx.flush();
        }
        if (active) {
            dispatchDeferredReads();
        } else {
            deferredReads.clear(); // nobody is there to answer
        }
        resumeOrHoldReading();
        closeIfDone();
    }

    /**
     * Reads requests again once the bytes in flight fell to half the limit and the replies queued
     * for the socket fit under its high-water mark; stops while they do not (a client that sends
     * reads but does not take their replies).
     */
    private void resumeOrHoldReading() {
        boolean reading = ctx.channel().config().isAutoRead();
        if (!ctx.channel().isWritable()) {
            if (reading) {
                ctx.channel().config().setAutoRead(false);
            }
        } else if (!reading && inFlightBytes <= export.maxInFlightBytes / 2 && !disconnecting && !stopped
                && !decoderWaitsForRoom()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    /** Whether the request decoder holds a WRITE header until its payload fits in the process's room. */
    private boolean decoderWaitsForRoom() {
        if (decoder == null) {
            decoder = ctx.pipeline().get(NbdRequestDecoder.class);
        }
        return decoder != null && decoder.waitingForRoom();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == NbdRequestDecoder.ROOM_FOUND) {
            resumeOrHoldReading();
        } else if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
            // The client closed its side (libnbd sends NBD_CMD_DISC, then shuts its socket for
            // writing): no more requests come, and every one accepted is still answered before the
            // connection closes, as for DISC (proto.md). The channel was closed at once before, and
            // up to 180 of 200 written-and-applied requests were never answered (probe AB D1).
            submitPending();
            endRequests("client closed its side");
        } else {
            super.userEventTriggered(ctx, evt);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        dispatchDeferredReads();
        resumeOrHoldReading();
        ctx.fireChannelWritabilityChanged();
    }

    private void releaseAll() {
        Completed c;
        while ((c = completed.poll()) != null) {
            if (c.data != null) {
                c.data.release();
            }
        }
    }

    /** No more requests are taken; the connection closes once every accepted one was answered. */
    private void endRequests(String why) {
        if (!disconnecting) {
            disconnecting = true;
            log.debug("{} conn={} export={} inFlight={}", why, conn, export.name, inFlight);
        }
        closeIfDone();
    }

    private void closeIfDone() {
        if (disconnecting && inFlight == 0) {
            ctx.flush();
            ctx.close();
        }
    }

    /**
     * Server shutdown: stops reading new requests; requests already accepted are still answered.
     * Not NBD_ESHUTDOWN for the requests still unread (proto.md's SHOULD): QEMU's client with
     * {@code reconnect-delay} retries requests a closed connection left unanswered on its next
     * connection, while an error reply reaches its guest as an I/O error (AcceptanceIT: a host's ext4
     * stopped at a graceful restart of the wedge).
     */
    void stopReading() {
        stopped = true;
        try {
            ctx.executor().execute(() -> ctx.channel().config().setAutoRead(false));
        } catch (RejectedExecutionException e) {
            // The endpoint was closed first: its event loops are gone and this connection with them.
            log.debug("stop reading: event loop already shut down conn={} export={}", conn, export.name);
        }
    }

    /** Closes the connection (export stopped, replaced or removed); accepted requests are not waited for. */
    ChannelFuture close() {
        return ctx.close();
    }

    /** Requests accepted and not yet answered. */
    int inFlight() {
        return inFlight;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ConnectionErrors.closeOnError(log, ctx, conn, export.name, "transmission", cause);
    }

    /** A reply computed off the event loop, waiting to be written. */
    private record Completed(long cookie, NbdError error, ByteBuf data, long payloadBytes, boolean read) {
    }
}
