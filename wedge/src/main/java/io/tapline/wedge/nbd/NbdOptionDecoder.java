package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdFlags;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Decodes the client's side of the fixed-newstyle handshake (proto.md "Newstyle negotiation"):
 * the 32-bit client flags once, then option requests:
 *
 * <pre>
 * offset size field
 *   0     8   magic "IHAVEOPT"
 *   8     4   option
 *  12     4   length n
 *  16     n   option data
 * </pre>
 *
 * <p>Unknown client flags, a bad option magic or an option longer than {@link #MAX_SKIPPED_OPTION_BYTES}
 * throw {@link NbdProtocolException}: the server must (flags) or may (abuse) hard-disconnect. An
 * option longer than {@link #MAX_OPTION_BYTES} (up to that) is skipped and emitted as
 * {@link NbdHandshakeRequest.TooBig}.
 * Removed from the pipeline when transmission starts; bytes the client already sent after its
 * last option are then passed on to the request decoder by {@link ByteToMessageDecoder}.
 *
 * <p>Runs on the channel's event loop; emits no reference-counted objects.
 */
public final class NbdOptionDecoder extends ByteToMessageDecoder {
    /** Longest option data accepted: a 4096-byte name plus generous room for info requests. */
    public static final int MAX_OPTION_BYTES = 16 * 1024;

    /**
     * Longest option data skipped and answered NBD_REP_ERR_TOO_BIG (as nbdkit takes options up to
     * 64 MiB); longer is taken as abuse (proto.md allows a hard disconnect then), as is an
     * NBD_OPT_EXPORT_NAME too long to take (it has no error reply).
     */
    public static final long MAX_SKIPPED_OPTION_BYTES = 64L << 20;

    private enum State {
        CLIENT_FLAGS,
        OPTION_HEADER,
        OPTION_DATA,
        SKIP_OPTION,
        BROKEN
    }

    private State state = State.CLIENT_FLAGS;
    private int option;
    private int dataLength;
    private long skipTotal;
    private long skipLeft;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        switch (state) {
            case CLIENT_FLAGS -> decodeClientFlags(in, out);
            case OPTION_HEADER -> decodeOptionHeader(in, out);
            case OPTION_DATA -> decodeOptionData(in, out);
            case SKIP_OPTION -> skipOptionData(in, out);
            case BROKEN -> in.skipBytes(in.readableBytes());
        }
    }

    private void decodeClientFlags(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 4) {
            return;
        }
        int flags = in.readInt();
        if ((flags & ~NbdFlags.KNOWN_CLIENT_FLAGS) != 0) {
            fail(in, "client flags: 0x" + Integer.toHexString(flags) + " (expected: only bits 0x"
                    + Integer.toHexString(NbdFlags.KNOWN_CLIENT_FLAGS) + ")");
        }
        out.add(new NbdHandshakeRequest.ClientFlags(flags));
        state = State.OPTION_HEADER;
    }

    private void decodeOptionHeader(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 16) {
            return;
        }
        long magic = in.readLong();
        if (magic != NbdFlags.IHAVEOPT) {
            fail(in, String.format("option magic: 0x%016x (expected: 0x%016x IHAVEOPT)", magic, NbdFlags.IHAVEOPT));
        }
        option = in.readInt();
        long length = in.readUnsignedInt();
        if (length > MAX_OPTION_BYTES && (length > MAX_SKIPPED_OPTION_BYTES || option == 1)) { // 1: EXPORT_NAME
            fail(in, "option length: " + length + " (expected: <= " + MAX_OPTION_BYTES + ") option=" + option);
        }
        if (length > MAX_OPTION_BYTES) {
            skipTotal = length;
            skipLeft = length;
            state = State.SKIP_OPTION;
            skipOptionData(in, out);
            return;
        }
        dataLength = (int) length;
        state = State.OPTION_DATA;
        // Data may be empty (NBD_OPT_LIST, ABORT): emit now rather than wait for more bytes.
        decodeOptionData(in, out);
    }

    private void decodeOptionData(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < dataLength) {
            return;
        }
        byte[] data = new byte[dataLength];
        in.readBytes(data);
        out.add(new NbdHandshakeRequest.Option(option, data));
        state = State.OPTION_HEADER;
    }

    private void skipOptionData(ByteBuf in, List<Object> out) {
        int n = (int) Math.min(skipLeft, in.readableBytes());
        in.skipBytes(n);
        skipLeft -= n;
        if (skipLeft == 0) {
            out.add(new NbdHandshakeRequest.TooBig(option, skipTotal));
            state = State.OPTION_HEADER;
        }
    }

    private void fail(ByteBuf in, String message) {
        state = State.BROKEN;
        in.skipBytes(in.readableBytes());
        throw new NbdProtocolException(message);
    }
}
