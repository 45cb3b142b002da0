package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdFlags;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/**
 * Encodes the server's side of the fixed-newstyle handshake:
 *
 * <pre>
 * Greeting:        8 NBDMAGIC | 8 IHAVEOPT | 2 handshake flags
 * OptionReply:     8 magic 0x3e889045565a9 | 4 option | 4 reply type | 4 length n | n data
 * ExportNameReply: 8 export size | 2 transmission flags | 124 zeroes (absent with NO_ZEROES)
 * </pre>
 *
 * <p>Stateless and sharable.
 */
@ChannelHandler.Sharable
public final class NbdHandshakeEncoder extends MessageToByteEncoder<NbdHandshakeReply> {
    private static final int RESERVED_ZEROES = 124;

    public NbdHandshakeEncoder() {
        super(NbdHandshakeReply.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, NbdHandshakeReply msg, ByteBuf out) {
        if (msg instanceof NbdHandshakeReply.Greeting g) {
            out.writeLong(NbdFlags.NBDMAGIC).writeLong(NbdFlags.IHAVEOPT).writeShort(g.handshakeFlags());
        } else if (msg instanceof NbdHandshakeReply.OptionReply r) {
            out.writeLong(NbdFlags.OPTION_REPLY_MAGIC).writeInt(r.option()).writeInt(r.type().wireValue())
                    .writeInt(r.data().length).writeBytes(r.data());
        } else if (msg instanceof NbdHandshakeReply.ExportNameReply e) {
            out.writeLong(e.sizeBytes()).writeShort(e.transmissionFlags());
            if (!e.noZeroes()) {
                out.writeZero(RESERVED_ZEROES);
            }
        }
    }
}
