package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdFlags;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Encodes {@link NbdSimpleReply}s (proto.md "Simple reply message"):
 *
 * <pre>
 * offset size field
 *   0     4   magic 0x67446698
 *   4     4   error
 *   8     8   cookie (handle)
 *  16     n   READ data
 * </pre>
 *
 * <p>The 16-byte header goes out in its own small buffer followed by the reply's data buffer
 * itself, so READ data is never copied. Stateless and sharable; takes ownership of the reply.
 */
@ChannelHandler.Sharable
public final class NbdReplyEncoder extends MessageToMessageEncoder<NbdSimpleReply> {
    public NbdReplyEncoder() {
        super(NbdSimpleReply.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, NbdSimpleReply reply, List<Object> out) {
        ByteBuf header = ctx.alloc().buffer(NbdFlags.SIMPLE_REPLY_HEADER_BYTES);
        header.writeInt(NbdFlags.SIMPLE_REPLY_MAGIC);
        header.writeInt(reply.error().wireValue());
        header.writeLong(reply.cookie());
        out.add(header);
        if (reply.content().isReadable()) {
            // The superclass releases the reply after encode; the data travels on with its own reference.
            out.add(reply.content().retain());
        }
    }
}
