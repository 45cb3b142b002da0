package io.tapline.journey;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.EncoderException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

class JourneyCodecTest {

    private static List<JourneyMessage> samples() {
        return List.of(
                new JourneyMessage.Hello(JourneyProtocol.VERSION, "wedge-a", "vol1", 4L << 30, 4096, ""),
                new JourneyMessage.Hello(JourneyProtocol.VERSION, "wedge-ü", "vol-2", 1, 512, "s3cret"),
                new JourneyMessage.Hello(JourneyProtocol.VERSION, "node-b", "vol1", 1 << 20, 4096, "", 7),
                new JourneyMessage.Hello(3, "wedge-a", "vol1", 1 << 20, 4096, ""),
                new JourneyMessage.Welcome(0),
                new JourneyMessage.Welcome(Long.MAX_VALUE),
                new JourneyMessage.Refused("volume busy: volume vol1 already has a live session"),
                BatchCodec.pack(1, TestRecords.writes("vol1", 1, 3, 100, false)),
                BatchCodec.pack(2, TestRecords.writes("vol1", 4, 20, 4096, true)),
                new JourneyMessage.Ack(2, 23, 0xCAFEBABE),
                new JourneyMessage.Error("sequence: 9 (expected: 5)"),
                new JourneyMessage.AdminRequest("s3cret", "alice@h", "vol1", JourneyMessage.AdminRequest.ROLLBACK,
                        JourneyMessage.AdminRequest.TO_MARK, 0, "before-upgrade"),
                new JourneyMessage.AdminRequest("", "bob@h", "vol1", JourneyMessage.AdminRequest.ROLLBACK,
                        JourneyMessage.AdminRequest.TO_TIME, 1_795_000_000_000_000_000L, ""),
                new JourneyMessage.AdminRequest("", "bob@h", "vol1", JourneyMessage.AdminRequest.RESUME, 0, 0, ""),
                new JourneyMessage.AdminProgress(256, 9000),
                new JourneyMessage.AdminDone(true, 48213, "volume vol1 rolled back"),
                new JourneyMessage.AdminDone(false, 0, ""),
                io.tapline.journey.control.ControlCodec.encode(new io.tapline.journey.control.ReplicaStateReport(
                        "out-of-sync", 42, 40, 0, "missing data since seq 41")));
    }

    @Test
    void adminDoneHasTheDocumentedBytes() {
        byte[] bytes = encode(new JourneyMessage.AdminDone(true, 7, "ok"));
        assertEquals(java.util.HexFormat.of().formatHex(bytes), "0000000e" + "09" + "01" + "0000000000000007"
                + "0002" + "6f6b");
    }

    @Test
    void adminRequestWithBadActionIsRefusedAtConstruction() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new JourneyMessage.AdminRequest("", "a", "v", 5, 0, 0, ""));
        assertTrue(e.getMessage().contains("action: 5 (expected: 1 ROLLBACK, 2 RESUME, 3 PROMOTE, 4 DEMOTE)"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new JourneyMessage.AdminRequest("", "a", "v", JourneyMessage.AdminRequest.PROMOTE, 1, 0, ""));
        assertTrue(e.getMessage().contains("targetKind: 1 (expected: 1..4 for ROLLBACK, 0 for the other actions)"),
                e.getMessage());
    }

    private static byte[] encode(JourneyMessage msg) {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyEncoder());
        assertTrue(ch.writeOutbound(msg));
        ByteBuf buf = ch.readOutbound();
        byte[] bytes = new byte[buf.readableBytes()];
        buf.readBytes(bytes);
        buf.release();
        assertFalse(ch.finish());
        return bytes;
    }

    /** Feeds {@code bytes} in pieces of the given sizes (cycled), returns what came out. */
    private static List<JourneyMessage> decode(byte[] bytes, int... pieces) {
        return decode(Unpooled::buffer, false, bytes, pieces); // room to grow, as a socket read's
    }

    /**
     * {@link #decode(byte[], int...)} with each piece in a buffer of its size from {@code newPiece},
     * from a peer {@code admitted} or not ({@link JourneyDecoder#setAsideRoomForBatches}).
     */
    private static List<JourneyMessage> decode(IntFunction<ByteBuf> newPiece, boolean admitted, byte[] bytes,
            int... pieces) {
        JourneyDecoder decoder = new JourneyDecoder();
        if (admitted) {
            decoder.setAsideRoomForBatches();
        }
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        List<ByteBuf> fed = new ArrayList<>();
        int pos = 0;
        int i = 0;
        while (pos < bytes.length) {
            int n = Math.min(pieces[i++ % pieces.length], bytes.length - pos);
            ByteBuf piece = newPiece.apply(n).writeBytes(bytes, pos, n);
            fed.add(piece);
            ch.writeInbound(piece);
            pos += n;
        }
        List<JourneyMessage> out = new ArrayList<>();
        for (Object o; (o = ch.readInbound()) != null; ) {
            out.add((JourneyMessage) o);
        }
        assertFalse(ch.finish());
        for (ByteBuf b : fed) {
            assertEquals(0, b.refCnt(), "input buffer leaked");
        }
        return out;
    }

    private static byte[] all() {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (JourneyMessage m : samples()) {
            out.writeBytes(encode(m));
        }
        return out.toByteArray();
    }

    @Test
    void roundTripsEveryMessageFedByteByByte() {
        assertEquals(samples(), decode(all(), 1));
    }

    @Test
    void roundTripsEveryMessageInOddSplits() {
        assertEquals(samples(), decode(all(), 3, 7, 1, 13, 64, 2));
        assertEquals(samples(), decode(all(), 5));
        assertEquals(samples(), decode(all(), all().length));
    }

    @Test
    void aLargeBatchGetsRoomForItsBodyAtOnce() {
        // 4 MiB read 64 KiB at a time: the cumulation is sized once, not grown by doubling
        // through new buffers (each a copy of what it held).
        JourneyMessage.Batch batch = BatchCodec.pack(1, TestRecords.writes("vol1", 1, 64, 64 << 10, false));
        GrowthCountingBuffer.growths = 0;
        assertEquals(List.of(batch), decode(GrowthCountingBuffer::new, true, encode(batch), 64 << 10));
        assertEquals(1, GrowthCountingBuffer.growths, "arrays the cumulation took as it grew");
    }

    @Test
    void batchesBackToBackGetRoomWithoutShrinkingTheBuffer() {
        // One stream, reads that end inside frames: a buffer grown over one batch serves the next.
        List<JourneyMessage> messages = new ArrayList<>();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int b = 0; b < 6; b++) {
            JourneyMessage.Batch batch =
                    BatchCodec.pack(b + 1, TestRecords.writes("vol1", 64L * b + 1, 64, 64 << 10, false));
            messages.add(batch);
            out.writeBytes(encode(batch));
        }
        GrowthCountingBuffer.growths = 0;
        assertEquals(messages, decode(GrowthCountingBuffer::new, true, out.toByteArray(), 64 << 10));
        assertTrue(GrowthCountingBuffer.growths <= 6, "arrays the cumulation took as it grew: "
                + GrowthCountingBuffer.growths + " (expected: at most one per batch)");
    }

    @Test
    void aBatchHeaderAloneSetsNothingAsideBeforeThePeerIsAdmitted() {
        byte[] header = Arrays.copyOf(encode(BatchCodec.pack(1, TestRecords.writes("vol1", 1, 64, 64 << 10, false))),
                JourneyProtocol.FRAME_HEADER_BYTES + JourneyProtocol.BATCH_HEADER_BYTES);
        for (boolean admitted : new boolean[] {false, true}) {
            GrowthCountingBuffer.growths = 0;
            assertEquals(List.of(), decode(GrowthCountingBuffer::new, admitted, header, header.length));
            assertEquals(admitted ? 1 : 0, GrowthCountingBuffer.growths, "arrays taken for a header alone, admitted: "
                    + admitted);
        }
    }

    @Test
    void batchesPastTheRoomSetAsideDecodeInOddSplits() {
        // 20 MiB (past the 16 MiB set aside on the word of a header), frames starting inside reads.
        List<JourneyMessage> messages = List.of(
                BatchCodec.pack(1, TestRecords.writes("vol1", 1, 5, 4 << 20, false)),
                new JourneyMessage.Ack(1, 5, 7),
                BatchCodec.pack(2, TestRecords.writes("vol1", 6, 3, 100_000, false)),
                new JourneyMessage.Welcome(5));
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        messages.forEach(m -> out.writeBytes(encode(m)));
        assertEquals(messages, decode(out.toByteArray(), (64 << 10) + 7, 1000, 3));
    }

    /** A socket read's buffer (room to grow) that counts the arrays it takes as it grows. */
    private static final class GrowthCountingBuffer extends UnpooledHeapByteBuf {
        static int growths;
        private final boolean built;

        GrowthCountingBuffer(int capacity) {
            super(UnpooledByteBufAllocator.DEFAULT, capacity, Integer.MAX_VALUE);
            built = true;
        }

        @Override
        protected byte[] allocateArray(int capacity) {
            if (built) {
                growths++;
            }
            return super.allocateArray(capacity);
        }
    }

    @Test
    void encodesWelcomeExactly() {
        byte[] bytes = encode(new JourneyMessage.Welcome(0x0102030405060708L));
        assertEquals("00000009" + "02" + "0102030405060708", hex(bytes));
    }

    @Test
    void encodesAckExactly() {
        byte[] bytes = encode(new JourneyMessage.Ack(1, 2, 0x0A0B0C0D));
        assertEquals("00000015" + "05" + "0000000000000001" + "0000000000000002" + "0a0b0c0d", hex(bytes));
    }

    @Test
    void rejectsOversizeFrameAndDiscardsTheRest() {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyDecoder(1024));
        ByteBuf header = Unpooled.buffer().writeInt(1025).writeByte(4);
        DecoderException e = assertThrows(DecoderException.class, () -> ch.writeInbound(header));
        assertTrue(e.getMessage().contains("length: 1025 (expected: 1..1024)"), e.getMessage());
        ByteBuf rest = Unpooled.wrappedBuffer(encode(new JourneyMessage.Welcome(5)));
        ch.writeInbound(rest);
        assertNull(ch.readInbound(), "nothing is decoded after a bad frame");
        assertEquals(0, header.refCnt());
        assertEquals(0, rest.refCnt());
        assertFalse(ch.finish());
    }

    @Test
    void aServerTakesNoLargeFrameFromAPeerNotAdmittedYet() {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyDecoder().boundFramesUntilAdmitted());
        ByteBuf header = Unpooled.buffer().writeInt(JourneyDecoder.UNADMITTED_MAX_FRAME_BYTES + 1).writeByte(1);
        DecoderException e = assertThrows(DecoderException.class, () -> ch.writeInbound(header));
        assertTrue(e.getMessage().contains("(expected: 1.." + JourneyDecoder.UNADMITTED_MAX_FRAME_BYTES
                + " before the peer is admitted: HELLO or ADMIN_REQUEST)"), e.getMessage());
        assertFalse(ch.finish());
        // Once admitted, a large BATCH header is a frame like any other (waiting for its body).
        JourneyDecoder admitted = new JourneyDecoder().boundFramesUntilAdmitted();
        admitted.setAsideRoomForBatches();
        EmbeddedChannel ok = new EmbeddedChannel(admitted);
        ok.writeInbound(Unpooled.buffer().writeInt(8 << 20).writeByte(4));
        assertNull(ok.readInbound());
        assertTrue(ok.isActive());
        ok.finishAndReleaseAll();
    }

    @Test
    void rejectsZeroLengthFrame() {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyDecoder());
        ByteBuf in = Unpooled.buffer().writeInt(0).writeByte(1);
        DecoderException e = assertThrows(DecoderException.class, () -> ch.writeInbound(in));
        assertTrue(e.getMessage().startsWith("length: 0 (expected: 1.."), e.getMessage());
        assertEquals(0, in.refCnt());
        assertFalse(ch.finish());
    }

    @Test
    void rejectsUnknownType() {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyDecoder());
        ByteBuf in = Unpooled.buffer().writeInt(9).writeByte(42).writeLong(0);
        DecoderException e = assertThrows(DecoderException.class, () -> ch.writeInbound(in));
        assertTrue(e.getMessage().contains("type: 42 (expected: 1..10)"), e.getMessage());
        assertEquals(0, in.refCnt());
        assertFalse(ch.finish());
    }

    @Test
    void rejectsGarbageBytes() {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyDecoder());
        ByteBuf in = Unpooled.copiedBuffer("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
        DecoderException e = assertThrows(DecoderException.class, () -> ch.writeInbound(in));
        assertTrue(e.getMessage().startsWith("length: "), e.getMessage());
        assertEquals(0, in.refCnt());
        assertFalse(ch.finish());
    }

    @Test
    void rejectsTrailingBytesInBody() {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyDecoder());
        ByteBuf in = Unpooled.buffer().writeInt(11).writeByte(2).writeLong(7).writeShort(0);
        DecoderException e = assertThrows(DecoderException.class, () -> ch.writeInbound(in));
        assertTrue(e.getMessage().contains("body: 2 trailing bytes (expected: 0) type=WELCOME"), e.getMessage());
        assertEquals(0, in.refCnt());
        assertFalse(ch.finish());
    }

    @Test
    void rejectsStringLongerThanItsFrame() {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyDecoder());
        ByteBuf in = Unpooled.buffer().writeInt(5).writeByte(6).writeShort(100).writeShort(0x4142);
        DecoderException e = assertThrows(DecoderException.class, () -> ch.writeInbound(in));
        assertTrue(e.getMessage().contains("message: 2 bytes left in the frame (expected: >= 100) type=ERROR"),
                e.getMessage());
        assertEquals(0, in.refCnt());
        assertFalse(ch.finish());
    }

    @Test
    void rejectsBatchWithImpossibleSequences() {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyDecoder());
        ByteBuf in = Unpooled.buffer().writeInt(1 + JourneyProtocol.BATCH_HEADER_BYTES).writeByte(4)
                .writeLong(1).writeLong(10).writeLong(5).writeInt(1).writeByte(0).writeInt(0).writeInt(0);
        DecoderException e = assertThrows(DecoderException.class, () -> ch.writeInbound(in));
        assertTrue(e.getMessage().startsWith("sequences: 10..5"), e.getMessage());
        assertEquals(0, in.refCnt());
        assertFalse(ch.finish());
    }

    @Test
    void rejectsBatchWithUncompressedLengthAboveTheBound() {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyDecoder(4096));
        ByteBuf in = Unpooled.buffer().writeInt(1 + JourneyProtocol.BATCH_HEADER_BYTES).writeByte(4)
                .writeLong(1).writeLong(1).writeLong(1).writeInt(1).writeByte(1).writeInt(1 << 30).writeInt(0);
        DecoderException e = assertThrows(DecoderException.class, () -> ch.writeInbound(in));
        assertTrue(e.getMessage().startsWith("uncompressedLength: 1073741824 (expected: 0..4096)"), e.getMessage());
        assertEquals(0, in.refCnt());
        assertFalse(ch.finish());
    }

    @Test
    void decodesHelloOfUnsupportedVersionSoItCanBeRefused() {
        ByteBuf frame = Unpooled.buffer().writeInt(1 + 2 + 3).writeByte(1).writeShort(9).writeBytes(new byte[] {1, 2, 3});
        byte[] bytes = new byte[frame.readableBytes()];
        frame.readBytes(bytes);
        List<JourneyMessage> out = decode(bytes, 1);
        assertEquals(List.of(new JourneyMessage.Hello(9, "", "", 0, 0, "")), out);
    }

    @Test
    void helloCarriesTheGenerationFromVersion4AndVersion3HasNone() {
        byte[] v4 = encode(new JourneyMessage.Hello(4, "s", "v", 512, 512, "", 9));
        byte[] v3 = encode(new JourneyMessage.Hello(3, "s", "v", 512, 512, "", 9)); // not on a version-3 wire
        assertEquals(v3.length + 8, v4.length);
        assertEquals("0000000000000009", hex(Arrays.copyOfRange(v4, v4.length - 8, v4.length)));
        assertEquals(List.of(new JourneyMessage.Hello(4, "s", "v", 512, 512, "", 9)), decode(v4, 3));
        assertEquals(List.of(new JourneyMessage.Hello(3, "s", "v", 512, 512, "", 0)), decode(v3, 3));
        byte[] negative = v4.clone();
        negative[negative.length - 8] = (byte) 0x80;
        DecoderException e = assertThrows(DecoderException.class, () -> decode(negative, 1));
        assertTrue(e.getMessage().startsWith("generation: "), e.getMessage());
    }

    @Test
    void encoderRefusesFrameAboveItsBound() {
        EmbeddedChannel ch = new EmbeddedChannel(new JourneyEncoder(1024));
        JourneyMessage.Batch big = BatchCodec.pack(1, TestRecords.writes("vol1", 1, 1, 4096, false));
        EncoderException e = assertThrows(EncoderException.class, () -> ch.writeOutbound(big));
        assertTrue(e.getMessage().contains("(expected: 1..1024) type=BATCH"), e.getMessage());
        assertFalse(ch.finish());
    }

    @Test
    void helloToStringHidesTheCredential() {
        assertFalse(new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, "s", "v", 1, 1, "topsecret").toString().contains("topsecret"));
    }

    private static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(String.format("%02x", b));
        }
        return sb.toString();
    }
}
