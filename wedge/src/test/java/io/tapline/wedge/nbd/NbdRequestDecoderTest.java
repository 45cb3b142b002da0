package io.tapline.wedge.nbd;

import io.tapline.nbd.NbdCommand;
import io.tapline.nbd.NbdError;
import io.tapline.nbd.NbdFlags;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class NbdRequestDecoderTest {
    private static final long SIZE = 1 << 20;
    private static final int MAX = 64 * 1024;

    static ByteBuf request(int flags, int type, long cookie, long offset, long length, byte[] payload) {
        ByteBuf b = Unpooled.buffer();
        b.writeInt(NbdFlags.REQUEST_MAGIC).writeShort(flags).writeShort(type).writeLong(cookie).writeLong(offset)
                .writeInt((int) length);
        if (payload != null) {
            b.writeBytes(payload);
        }
        return b;
    }

    private static EmbeddedChannel channel() {
        return new EmbeddedChannel(new NbdRequestDecoder(new NbdRequestValidator(SIZE, MAX)));
    }

    /** Feeds {@code bytes} in pieces of {@code split} bytes (1 = byte by byte) and returns what was decoded. */
    private static List<Object> feed(EmbeddedChannel ch, ByteBuf bytes, int split) {
        List<ByteBuf> pieces = new ArrayList<>();
        while (bytes.isReadable()) {
            ByteBuf piece = Unpooled.buffer(split);
            bytes.readBytes(piece, Math.min(split, bytes.readableBytes()));
            pieces.add(piece);
        }
        bytes.release();
        for (ByteBuf p : pieces) {
            ch.writeInbound(p);
        }
        for (ByteBuf p : pieces) {
            assertEquals(0, p.refCnt(), "input buffer released");
        }
        List<Object> out = new ArrayList<>();
        Object o;
        while ((o = ch.readInbound()) != null) {
            out.add(o);
        }
        return out;
    }

    private static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        return b;
    }

    @Test
    void decodesReadByteByByte() {
        EmbeddedChannel ch = channel();
        List<Object> out = feed(ch, request(0, 0, 0x1122334455667788L, 4096, 512, null), 1);
        assertEquals(List.of(NbdRequest.of(NbdCommand.READ, 0, 0x1122334455667788L, 4096, 512)).toString(),
                out.toString());
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void decodesWritePayloadInOddSplits() {
        byte[] data = pattern(5000);
        for (int split : new int[] {1, 3, 7, 27, 29, 1000, 6000}) {
            EmbeddedChannel ch = channel();
            ByteBuf both = Unpooled.buffer();
            ByteBuf w = request(NbdFlags.CMD_FLAG_FUA, 1, 9, 100, data.length, data);
            ByteBuf f = request(0, 3, 10, 0, 0, null);
            both.writeBytes(w).writeBytes(f);
            w.release();
            f.release();
            List<Object> out = feed(ch, both, split);
            assertEquals(2, out.size(), "split " + split);
            NbdRequest write = (NbdRequest) out.get(0);
            assertEquals(NbdCommand.WRITE, write.command());
            assertEquals(100, write.offsetBytes());
            assertArrayEquals(data, write.payload());
            assertEquals(NbdCommand.FLUSH, ((NbdRequest) out.get(1)).command());
            assertFalse(ch.finishAndReleaseAll());
        }
    }

    @Test
    void rejectsWriteBeyondExportSizeWithEnospcAndStaysInSync() {
        EmbeddedChannel ch = channel();
        ByteBuf both = request(0, 1, 1, SIZE - 10, 20, new byte[20]);
        ByteBuf next = request(0, 0, 2, 0, 1, null);
        both.writeBytes(next);
        next.release();
        List<Object> out = feed(ch, both, 5);
        NbdRejectedRequest r = assertInstanceOf(NbdRejectedRequest.class, out.get(0));
        assertEquals(NbdError.ENOSPC, r.error());
        assertEquals(NbdCommand.READ, ((NbdRequest) out.get(1)).command());
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void skipsPayloadOfOversizedWriteThenRepliesEoverflow() {
        EmbeddedChannel ch = channel();
        int length = MAX + 1;
        ByteBuf all = request(0, 1, 3, 0, length, new byte[length]);
        ByteBuf next = request(0, 3, 4, 0, 0, null);
        all.writeBytes(next);
        next.release();
        List<Object> out = feed(ch, all, 4093);
        assertEquals(2, out.size());
        assertEquals(NbdError.EINVAL, ((NbdRejectedRequest) out.get(0)).error());
        assertEquals(4, ((NbdRequest) out.get(1)).cookie());
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void badMagicIsAProtocolError() {
        EmbeddedChannel ch = channel();
        ByteBuf b = Unpooled.buffer().writeInt(0xdeadbeef).writeZero(24);
        assertThrows(NbdProtocolException.class, () -> ch.writeInbound(b));
        assertEquals(0, b.refCnt());
        ByteBuf more = request(0, 0, 1, 0, 1, null);
        ch.writeInbound(more);
        assertEquals(0, more.refCnt());
        assertNull(ch.readInbound(), "nothing decoded after a bad magic");
        ch.finishAndReleaseAll();
    }

    @Test
    void peerClosingMidWriteEmitsNothing() {
        EmbeddedChannel ch = channel();
        ByteBuf partial = request(0, 1, 1, 0, 4096, new byte[100]);
        ch.writeInbound(partial);
        assertFalse(ch.finish());
        assertEquals(0, partial.refCnt());
    }
}
