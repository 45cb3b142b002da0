package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdFlags;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.Objects;

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
 * <p>Runs on the channel's event loop; emits no reference-counted objects.
 */
public final class NbdRequestDecoder extends ByteToMessageDecoder {
    private enum State {
        HEADER,
        PAYLOAD,
        SKIP_PAYLOAD,
        BROKEN
    }

    private final NbdRequestValidator validator;
    private final PayloadArrays payloads;
    private State state = State.HEADER;
    private NbdRequest pendingWrite;
    private int payloadFilled;
    private NbdRejectedRequest pendingRejection;
    private long skipRemaining;

    /** A decoder whose payloads are new arrays each time. */
    public NbdRequestDecoder(NbdRequestValidator validator) {
        this(validator, PayloadArrays.none());
    }

    /** A decoder that takes payload arrays from {@code payloads}. */
    public NbdRequestDecoder(NbdRequestValidator validator, PayloadArrays payloads) {
        this.validator = Objects.requireNonNull(validator, "validator");
        this.payloads = Objects.requireNonNull(payloads, "payloads");
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
        if (payloadFilled < payload.length) {
            return false;
        }
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
    }
}
