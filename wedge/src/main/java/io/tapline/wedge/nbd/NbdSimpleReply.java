package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdError;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;
import io.netty.buffer.Unpooled;
import java.util.Objects;

/**
 * A simple reply (proto.md "Simple reply message"): error value and cookie, followed by the
 * data of a successful READ.
 *
 * <p>Reference counted through its content: whoever holds the reply owns the data buffer;
 * writing it to a channel hands ownership to {@link NbdReplyEncoder}, which sends the bytes
 * without copying them. A failed or dropped write releases it.
 */
public final class NbdSimpleReply extends DefaultByteBufHolder {
    private final long cookie;
    private final NbdError error;

    private NbdSimpleReply(long cookie, NbdError error, ByteBuf data) {
        super(data);
        this.cookie = cookie;
        this.error = Objects.requireNonNull(error, "error");
    }

    /** A reply without data: the answer to every command but a successful READ. */
    public static NbdSimpleReply of(long cookie, NbdError error) {
        return new NbdSimpleReply(cookie, error, Unpooled.EMPTY_BUFFER);
    }

    /** A successful READ's reply; takes ownership of {@code data}. */
    public static NbdSimpleReply withData(long cookie, ByteBuf data) {
        return new NbdSimpleReply(cookie, NbdError.OK, data);
    }

    public long cookie() {
        return cookie;
    }

    public NbdError error() {
        return error;
    }

    @Override
    public NbdSimpleReply replace(ByteBuf content) {
        return new NbdSimpleReply(cookie, error, content);
    }

    @Override
    public String toString() {
        return "NbdSimpleReply[cookie=0x" + Long.toHexString(cookie) + " error=" + error + " data="
                + content().readableBytes() + "B]";
    }
}
