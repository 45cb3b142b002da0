package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdFlags;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes transmission requests (proto.md "Request message") into {@link NbdRequest}s, or
 * {@link NbdRejectedRequest}s when {@link NbdRequestValidator} refuses them.
 *
 * <pre>
 * offset size field
 *   0     4   magic 0x25609513
 *   4     2   command flags
 *   6     2   type
 *   8     8   cookie (handle)
 *  16     8   offset (unsigned)
 *  24     4   length (unsigned)
 *  28     n   payload, n = length, WRITE only
 * </pre>
 *
 * <p>A WRITE payload is copied exactly once, straight from the received buffers into the
 * request's {@code byte[]} as it arrives, so the cumulation never holds more than one header.
 * Large payloads' arrays come from {@link PayloadArrays}, which the completed command gives them
 * back to; the request owns its array until then. A
 * rejected WRITE's payload is skipped (never buffered, whatever its length) before the rejection
 * is emitted, so the stream stays in sync. A bad magic throws {@link NbdProtocolException}: the
 * stream cannot be resynchronised and the connection must be dropped.
 *
 * <p>The payload's array is taken only when it fits in the process's {@link PayloadRoom}; until
 * then the header waits, the connection stops reading (the transmission handler keeps it stopped
 * while {@link #waitingForRoom}), the header is tried again when room is freed and every second,
 * and {@link #ROOM_FOUND} goes down the pipeline once it fits. A payload that makes no progress
 * while others wait for room has its connection closed ({@link PayloadRoom}).
 *
 * <p>Runs on the channel's event loop; emits no reference-counted objects.
 */
public final class NbdRequestDecoder extends ByteToMessageDecoder implements PayloadRoom.Holder {
    /** A user event: the header that waited for room got it; the connection may read again. */
    public static final Object ROOM_FOUND = new Object() {
        @Override
        public String toString() {
            return "ROOM_FOUND";
        }
    };
    private static final Logger log = LoggerFactory.getLogger(NbdRequestDecoder.class);

    private enum State {
        HEADER,
        PAYLOAD,
        SKIP_PAYLOAD,
        BROKEN
    }

    private final NbdRequestValidator validator;
    private final PayloadArrays payloads;
    private final PayloadRoom room;
    private ChannelHandlerContext ctx;
    /** Bytes reserved in the room for the payload arriving now (0: none). */
    private long reservedBytes;
    private long lastProgressNanos;
    private boolean waitingForRoom;
    private boolean retryScheduled;
    private State state = State.HEADER;
    private NbdRequest pendingWrite;
    private int payloadFilled;
    private NbdRejectedRequest pendingRejection;
    private long skipRemaining;

    /** A decoder whose payloads are new arrays each time. */
    public NbdRequestDecoder(NbdRequestValidator validator) {
        this(validator, PayloadArrays.none());
    }

    /** A decoder that takes payload arrays from {@code payloads}, in the process's {@link PayloadRoom#shared room}. */
    public NbdRequestDecoder(NbdRequestValidator validator, PayloadArrays payloads) {
        this(validator, payloads, PayloadRoom.shared());
    }

    /** A decoder that takes payload arrays from {@code payloads} as {@code room} allows. */
    public NbdRequestDecoder(NbdRequestValidator validator, PayloadArrays payloads, PayloadRoom room) {
        this.validator = Objects.requireNonNull(validator, "validator");
        this.payloads = Objects.requireNonNull(payloads, "payloads");
        this.room = Objects.requireNonNull(room, "room");
    }

    /** Whether a WRITE header waits for room for its payload (the connection must not read meanwhile). */
    public boolean waitingForRoom() {
        return waitingForRoom;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        giveUpRoom();
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.isReadable()) {
            boolean progressed = switch (state) {
                case HEADER -> decodeHeader(in, out);
                case PAYLOAD -> decodePayload(in, out);
                case SKIP_PAYLOAD -> skipPayload(in, out);
                case BROKEN -> {
                    in.skipBytes(in.readableBytes());
                    yield false;
                }
            };
            if (!progressed) {
                return;
            }
        }
    }

    private boolean decodeHeader(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < NbdFlags.REQUEST_HEADER_BYTES) {
            return false;
        }
        int start = in.readerIndex();
        int magic = in.readInt();
        if (magic != NbdFlags.REQUEST_MAGIC) {
            state = State.BROKEN;
            in.skipBytes(in.readableBytes());
            throw new NbdProtocolException(String.format(
                    "request magic: 0x%08x (expected: 0x%08x)", magic, NbdFlags.REQUEST_MAGIC));
        }
        int flags = in.readUnsignedShort();
        int type = in.readUnsignedShort();
        long cookie = in.readLong();
        long offset = in.readLong();
        long length = in.readUnsignedInt();
        NbdRejectedRequest rejection = validator.validate(type, flags, cookie, offset, length);
        boolean hasPayload = type == NbdCommand.WRITE.wireValue();
        if (rejection != null) {
            if (hasPayload && length > 0) {
                pendingRejection = rejection;
                skipRemaining = length;
                state = State.SKIP_PAYLOAD;
            } else {
                out.add(rejection);
            }
            return true;
        }
        NbdCommand cmd = NbdCommand.fromWireValue(type);
        if (hasPayload) {
            // Small payloads take no room: 1024 connections of 64 KiB each are 64 MiB, and 4 KiB writes
            // at 40 k a second would each cross the room's lock.
            if (length >= PayloadRoom.MIN_BYTES && !room.tryReserve(this, length)) {
                in.readerIndex(start); // read again once there is room
                waitForRoom();
                return false;
            }
            if (waitingForRoom) {
                waitingForRoom = false;
                ctx.fireUserEventTriggered(ROOM_FOUND);
            }
            reservedBytes = length >= PayloadRoom.MIN_BYTES ? length : 0;
            if (reservedBytes > 0) { // only payloads holding room are watched for stalls
                lastProgressNanos = System.nanoTime();
            }
            pendingWrite = new NbdRequest(cmd, flags, cookie, offset, length, payloads.take((int) length));
            payloadFilled = 0;
            state = State.PAYLOAD;
        } else {
            out.add(NbdRequest.of(cmd, flags, cookie, offset, length));
        }
        return true;
    }

    private boolean decodePayload(ByteBuf in, List<Object> out) {
        byte[] payload = pendingWrite.payload();
        int n = Math.min(in.readableBytes(), payload.length - payloadFilled);
        in.readBytes(payload, payloadFilled, n);
        payloadFilled += n;
        if (n > 0 && reservedBytes > 0) {
            lastProgressNanos = System.nanoTime();
        }
        if (payloadFilled < payload.length) {
            return false;
        }
        releaseRoom();
        out.add(pendingWrite);
        pendingWrite = null;
        state = State.HEADER;
        return true;
    }

    private boolean skipPayload(ByteBuf in, List<Object> out) {
        int n = (int) Math.min(in.readableBytes(), skipRemaining);
        in.skipBytes(n);
        skipRemaining -= n;
        if (skipRemaining > 0) {
            return false;
        }
        out.add(pendingRejection);
        pendingRejection = null;
        state = State.HEADER;
        return true;
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (state != State.BROKEN) {
            decode(ctx, in, out);
        }
        // A request cut short by the peer closing is dropped: it was never acknowledged.
        in.skipBytes(in.readableBytes());
        pendingWrite = null;
        pendingRejection = null;
        giveUpRoom();
    }

    /**
     * While a header waits for room, no read is asked for: the base class asks for one after a read
     * that decoded nothing with auto-read off (to finish a frame), which would take the waiting
     * WRITE's payload into the cumulation, outside the room, 32 MiB a connection.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (waitingForRoom) {
            ctx.fireChannelReadComplete();
            return;
        }
        super.channelReadComplete(ctx);
    }

    private void waitForRoom() {
        if (!waitingForRoom) {
            waitingForRoom = true;
            log.debug("write payload waits for room conn={} reserved={}", ctx.channel().remoteAddress(),
                    room.reservedBytes());
        }
        ctx.channel().config().setAutoRead(false);
        if (!retryScheduled) { // asks again every second: a holder may have stalled past the timeout since
            retryScheduled = true;
            ctx.executor().schedule(() -> {
                retryScheduled = false;
                retryForRoom();
            }, 1, TimeUnit.SECONDS);
        }
    }

    private void retryForRoom() {
        if (!waitingForRoom || !ctx.channel().isActive() || ctx.isRemoved()) {
            return;
        }
        try {
            channelRead(ctx, Unpooled.EMPTY_BUFFER); // decodes the waiting header again
            channelReadComplete(ctx); // the handler submits what was decoded at a read's end
        } catch (Exception e) {
            ctx.fireExceptionCaught(e);
        }
    }

    @Override
    public void roomFreed() {
        try {
            ctx.executor().execute(this::retryForRoom);
        } catch (RejectedExecutionException e) {
            // The event loop is gone, and this connection with it.
        }
    }

    @Override
    public void dropIfStalled(Duration stallTimeout) {
        try {
            ctx.executor().execute(() -> {
                if (state != State.PAYLOAD || reservedBytes == 0 || !ctx.channel().isActive()) {
                    return;
                }
                long now = System.nanoTime();
                if (!ctx.channel().config().isAutoRead()) {
                    lastProgressNanos = now; // not reading is the wedge's doing, not the client's stall
                } else if (now - lastProgressNanos > stallTimeout.toNanos()) {
                    log.warn("write payload stalled, disconnecting conn={} offset={} received={} of {} bytes in {} s"
                            + " while other connections wait for room", ctx.channel().remoteAddress(),
                            Long.toUnsignedString(pendingWrite.offsetBytes()), payloadFilled, reservedBytes,
                            stallTimeout.toSeconds());
                    ctx.close();
                }
            });
        } catch (RejectedExecutionException e) {
            // The event loop is gone, and this connection with it.
        }
    }

    private void releaseRoom() {
        if (reservedBytes > 0) {
            long n = reservedBytes;
            reservedBytes = 0;
            room.release(this, n);
        }
    }

    /** The connection goes: its reservation is freed and it waits no more. */
    private void giveUpRoom() {
        releaseRoom();
        if (waitingForRoom) {
            waitingForRoom = false;
            room.cancel(this);
        }
    }
}
