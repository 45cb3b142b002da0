package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdError;
import io.tapline.nbd.NbdFlags;
import io.tapline.nbd.NbdOption;
import io.tapline.nbd.NbdOptionReplyType;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

class NbdEncodersTest {

    private static String drainHex(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            sb.append(ByteBufUtil.hexDump(b));
            b.release();
        }
        return sb.toString();
    }

    @Test
    void encodesReadReplyWithoutCopyingData() {
        EmbeddedChannel ch = new EmbeddedChannel(new NbdReplyEncoder());
        ByteBuf data = Unpooled.directBuffer().writeBytes(new byte[] {1, 2, 3});
        ch.writeOutbound(NbdSimpleReply.withData(0x0102030405060708L, data));
        ByteBuf header = ch.readOutbound();
        assertEquals("67446698000000000102030405060708", ByteBufUtil.hexDump(header));
        header.release();
        ByteBuf body = ch.readOutbound();
        assertEquals(data, body);
        body.release();
        assertEquals(0, data.refCnt());
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void encodesErrorReply() {
        EmbeddedChannel ch = new EmbeddedChannel(new NbdReplyEncoder());
        ch.writeOutbound(NbdSimpleReply.of(7, NbdError.ENOSPC));
        assertEquals("674466980000001c0000000000000007", drainHex(ch));
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void encodesHandshakeMessages() {
        EmbeddedChannel ch = new EmbeddedChannel(new NbdHandshakeEncoder());
        ch.writeOutbound(new NbdHandshakeReply.Greeting(3));
        assertEquals("4e42444d41474943" + "49484156454f5054" + "0003", drainHex(ch));
        ch.writeOutbound(new NbdHandshakeReply.OptionReply(7, NbdOptionReplyType.ERR_UNKNOWN, new byte[] {'x'}));
        assertEquals("0003e889045565a9" + "00000007" + "80000006" + "00000001" + "78", drainHex(ch));
        ch.writeOutbound(new NbdHandshakeReply.ExportNameReply(4096, 0x0d, false));
        assertEquals("0000000000001000" + "000d" + "00".repeat(124), drainHex(ch));
        ch.writeOutbound(new NbdHandshakeReply.ExportNameReply(4096, 0x0d, true));
        assertEquals("0000000000001000000d", drainHex(ch));
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void decodesOptionsByteByByte() {
        EmbeddedChannel ch = new EmbeddedChannel(new NbdOptionDecoder());
        ByteBuf in = Unpooled.buffer().writeInt(3).writeLong(NbdFlags.IHAVEOPT).writeInt(7).writeInt(2)
                .writeBytes(new byte[] {'a', 'b'}).writeLong(NbdFlags.IHAVEOPT).writeInt(3).writeInt(0);
        while (in.isReadable()) {
            ch.writeInbound(in.readRetainedSlice(1));
        }
        in.release();
        assertEquals(3, assertInstanceOf(NbdHandshakeRequest.ClientFlags.class, ch.readInbound()).flags());
        NbdHandshakeRequest.Option go = ch.readInbound();
        assertEquals(NbdOption.GO, go.known());
        assertEquals("ab", new String(go.data(), java.nio.charset.StandardCharsets.US_ASCII));
        NbdHandshakeRequest.Option list = ch.readInbound();
        assertEquals(NbdOption.LIST, list.known());
        assertFalse(ch.finishAndReleaseAll());
    }
}
