package io.tapline.journey;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Decodes journey link frames into {@link JourneyMessage}s. Big-endian throughout; strings are
 * {@code u16 length | UTF-8 bytes}.
 *
 * <pre>
 * frame
 *   offset size  field
 *    0      4    length   bytes after this field: 1 (type) + body; 1..maxFrameBytes
 *    4      1    type     1 HELLO, 2 WELCOME, 3 REFUSED, 4 BATCH, 5 ACK, 6 ERROR,
 *                          7 ADMIN_REQUEST, 8 ADMIN_PROGRESS, 9 ADMIN_DONE, 10 CONTROL
 *    5      n    body     length - 1 bytes, as below; a body must be consumed exactly
 *
 * HELLO (source to replayer)            WELCOME (replayer to source)
 *   u16 protocolVersion (2..4)            u64 lastAppliedSequence
 *   str sourceId
 *   str volumeId                        REFUSED (replayer to source, then close)
 *   u64 volumeSizeBytes                   str reason
 *   u32 blockSizeBytes
 *   str credential (may be empty)       ERROR (either side, fatal, then close)
 *   u64 generation (version 4 on; 0: none) str message
 * BATCH (source to replayer)
 *   u64 batchId                         ACK (replayer to source)
 *   u64 firstSequence                     u64 batchId
 *   u64 lastSequence                      u64 lastAppliedSequence
 *   u32 recordCount                       u32 crc32c (echo of the BATCH's crc32c)
 *   u8  compression (0 none, 1 LZ4 block)
 *   u32 uncompressedLength
 *   u32 crc32c of the uncompressed record bytes
 *   ... record bytes: concatenated RecordCodec encodings, compressed as said
 *
 * ADMIN_REQUEST (administrator to replayer, instead of HELLO)
 *   str credential, str actor, str volumeId
 *   u8  action (1 ROLLBACK, 2 RESUME)     ADMIN_PROGRESS (replayer to administrator)
 *   u8  targetKind (0, 1 seq, 2 time,       u64 done, u64 total
 *       3 mark, 4 last consistent)      ADMIN_DONE (replayer to administrator, then close)
 *   u64 value (sequence or UTC nanos)       u8 ok (0/1), u64 sequence, str message
 *   str markName
 *
 * CONTROL (either direction, inside a HELLO session; protocol version 2)
 *   ... the rest of the frame: one Kryo-encoded ControlMessage (see io.tapline.journey.control.ControlCodec)
 * </pre>
 *
 * <p>A HELLO whose protocol version is not supported is still decoded (its other fields are
 * then skipped and left empty) so that the replayer can refuse it naming the supported range.
 *
 * <p>Not sharable: one instance per channel, used on its event loop. The decoder copies what it
 * needs out of the inbound {@link ByteBuf}s, so the messages it emits hold no buffers and need no
 * release. After a protocol violation it throws {@link JourneyProtocolException} once and
 * discards everything that follows; the handler is expected to close the channel.
 */
public final class JourneyDecoder extends ByteToMessageDecoder {

    private enum State {
        READ_HEADER,
        READ_BODY,
        BAD_FRAME
    }

    /** BATCH frames whose body is at least this long get a cumulation of their size ({@link #makeRoomForBody}). */
    static final int PRESIZE_FROM_BYTES = 256 << 10;
    /** The most {@link #makeRoomForBody} sets aside before the bytes arrive (four default batches). */
    static final int PRESIZE_MAX_BYTES = 16 << 20;

    /**
     * The longest frame a server takes from a peer not admitted yet ({@link #boundFramesUntilAdmitted}):
     * HELLO and ADMIN_REQUEST hold a few strings of at most 64 KiB each; a BATCH comes only after WELCOME.
     */
    public static final int UNADMITTED_MAX_FRAME_BYTES = 1 << 20;

    private final int maxFrameBytes;
    /** Whether frames are bounded by {@link #UNADMITTED_MAX_FRAME_BYTES} until the peer is admitted. */
    private boolean boundedUntilAdmitted;
    /** Whether the peer was admitted, so that a large BATCH header gets room for its body at once. */
    private boolean roomForBatches;
    private State state = State.READ_HEADER;
    private MessageType type;
    private int bodyLength;

    /** A decoder bounded by {@link JourneyProtocol#DEFAULT_MAX_FRAME_BYTES}. */
    public JourneyDecoder() {
        this(JourneyProtocol.DEFAULT_MAX_FRAME_BYTES);
    }

    /** A decoder that rejects frames whose length field exceeds {@code maxFrameBytes}. */
    public JourneyDecoder(int maxFrameBytes) {
        if (maxFrameBytes < JourneyProtocol.BATCH_HEADER_BYTES + 1) {
            throw new IllegalArgumentException("maxFrameBytes: " + maxFrameBytes + " (expected: >= "
                    + (JourneyProtocol.BATCH_HEADER_BYTES + 1) + ")");
        }
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        try {
            switch (state) {
                case READ_HEADER -> readHeader(in);
                case READ_BODY -> readBody(in, out);
                case BAD_FRAME -> in.skipBytes(in.readableBytes());
                default -> throw new IllegalStateException("state: " + state);
            }
        } catch (JourneyProtocolException e) {
            // Nothing after a bad frame can be trusted: drop it so no buffer is held.
            in.skipBytes(in.readableBytes());
            throw e;
        }
    }

    /** What a frame length that is text says: the peer speaks another protocol (an NBD server's greeting). */
    private static String notJourney(long length) {
        byte[] b = {(byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length};
        if (b[0] == 0x16 && b[1] == 0x03) { // a TLS handshake record: ContentType 22, version 3.x
            return ": the peer speaks TLS and this side does not (give both sides --tls-cert/--tls-key/--tls-ca,"
                    + " or neither)";
        }
        for (byte x : b) {
            if (x < 0x20 || x > 0x7e) {
                return "";
            }
        }
        String text = new String(b, java.nio.charset.StandardCharsets.US_ASCII);
        return text.equals("NBDM") ? ": the peer is an NBD server, not a Tapline peer"
                : ": the peer sent text (\"" + text + "\"...), it does not speak the journey protocol";
    }

    private void readHeader(ByteBuf in) {
        if (in.readableBytes() < JourneyProtocol.FRAME_HEADER_BYTES) {
            return;
        }
        type = null; // a bad header names no type (it named the previous frame's: "type=HELLO" mid-session)
        long length = in.readUnsignedInt();
        if (length < 1 || length > maxFrameBytes) {
            throw fail("length: " + length + " (expected: 1.." + maxFrameBytes + ")" + notJourney(length));
        }
        if (boundedUntilAdmitted && !roomForBatches && length > UNADMITTED_MAX_FRAME_BYTES) {
            // An unauthenticated peer must not make the server hold 80 MiB for a first frame.
            throw fail("length: " + length + " (expected: 1.." + UNADMITTED_MAX_FRAME_BYTES
                    + " before the peer is admitted: HELLO or ADMIN_REQUEST)" + notJourney(length));
        }
        int typeValue = in.readUnsignedByte();
        try {
            type = MessageType.fromWireValue(typeValue);
        } catch (JourneyProtocolException e) {
            throw fail(e.getMessage());
        }
        bodyLength = (int) length - 1;
        state = State.READ_BODY;
        makeRoomForBody(in);
    }

    /**
     * Gives the cumulation room for the whole body of a large BATCH at once. Left to itself it
     * grows by doubling as reads arrive, copying what it holds at each step: for a 4 MiB batch
     * read 64 KiB at a time, about two more copies of every byte, through buffers of every size
     * (docs/benchmarks.md#decoder-room). Only for an admitted peer ({@link #setAsideRoomForBatches}),
     * and at most {@link #PRESIZE_MAX_BYTES} on the word of a header, before the bytes come; past
     * that the cumulation grows as before.
     */
    private void makeRoomForBody(ByteBuf in) {
        int room = Math.min(bodyLength, PRESIZE_MAX_BYTES);
        if (!roomForBatches || type != MessageType.BATCH || bodyLength < PRESIZE_FROM_BYTES
                || room - in.readableBytes() <= in.writableBytes() || room > in.maxCapacity()
                || in.isReadOnly() || in.refCnt() != 1) {
            return;
        }
        in.discardReadBytes(); // what has come of the body moves to the front, so it fits in the room
        if (room <= in.capacity()) {
            return; // it fits now; a larger buffer (grown over the frame before) is kept, not shrunk
        }
        try {
            in.capacity(room);
        } catch (UnsupportedOperationException e) {
            // A derived buffer (a slice) cannot change its capacity: it is copied as it grows.
        }
    }

    /**
     * From now on, a BATCH header of {@link #PRESIZE_FROM_BYTES} or more gets room for its body
     * at once, up to {@link #PRESIZE_MAX_BYTES}, instead of a buffer grown as the reads come. For
     * a peer that was admitted (its HELLO accepted): before that, a header alone must not make the
     * process set memory aside. Event loop only.
     */
    public void setAsideRoomForBatches() {
        roomForBatches = true;
    }

    /**
     * A server's decoder: until {@link #setAsideRoomForBatches} says the peer was admitted, a frame
     * longer than {@link #UNADMITTED_MAX_FRAME_BYTES} is a protocol error, so that a peer nobody
     * authenticated yet cannot make the process hold a whole frame of the full bound (probe J D3: eight
     * connections each sending an 80 MiB first frame pinned 700 MB of a replayer).
     *
     * @return this decoder
     */
    public JourneyDecoder boundFramesUntilAdmitted() {
        boundedUntilAdmitted = true;
        return this;
    }

    private void readBody(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < bodyLength) {
            return;
        }
        ByteBuf body = in.readSlice(bodyLength);
        JourneyMessage message;
        try {
            message = switch (type) {
                case HELLO -> readHello(body);
                case WELCOME -> new JourneyMessage.Welcome(readLong(body, "lastAppliedSequence"));
                case REFUSED -> new JourneyMessage.Refused(readString(body, "reason"));
                case BATCH -> readBatch(body);
                case ACK -> new JourneyMessage.Ack(readLong(body, "batchId"), readLong(body, "lastAppliedSequence"),
                        readInt(body, "crc32c"));
                case ERROR -> new JourneyMessage.Error(readString(body, "message"));
                case ADMIN_REQUEST -> new JourneyMessage.AdminRequest(readString(body, "credential"),
                        readString(body, "actor"), readString(body, "volumeId"), readByte(body, "action"),
                        readByte(body, "targetKind"), readLong(body, "value"), readString(body, "markName"));
                case ADMIN_PROGRESS -> new JourneyMessage.AdminProgress(readLong(body, "done"),
                        readLong(body, "total"));
                case ADMIN_DONE -> new JourneyMessage.AdminDone(readByte(body, "ok") != 0, readLong(body, "sequence"),
                        readString(body, "message"));
                case CONTROL -> {
                    byte[] bytes = new byte[body.readableBytes()];
                    body.readBytes(bytes);
                    yield new JourneyMessage.Control(bytes);
                }
            };
        } catch (IllegalArgumentException e) {
            throw fail(e.getMessage());
        }
        if (body.isReadable()) {
            throw fail("body: " + body.readableBytes() + " trailing bytes (expected: 0)");
        }
        state = State.READ_HEADER;
        out.add(message);
    }

    private JourneyMessage.Hello readHello(ByteBuf body) {
        int version = readShort(body, "protocolVersion");
        if (!JourneyProtocol.supports(version)) {
            // Layout of other versions is unknown: keep only the version so it can be refused.
            body.skipBytes(body.readableBytes());
            return new JourneyMessage.Hello(version, "", "", 0, 0, "");
        }
        String sourceId = readString(body, "sourceId");
        String volumeId = readString(body, "volumeId");
        long size = readLong(body, "volumeSizeBytes");
        long blockSize = readInt(body, "blockSizeBytes") & 0xFFFFFFFFL;
        if (blockSize > Integer.MAX_VALUE) {
            throw fail("blockSizeBytes: " + blockSize + " (expected: 0.." + Integer.MAX_VALUE + ")");
        }
        String credential = readString(body, "credential");
        long generation = 0;
        if (version >= JourneyProtocol.GENERATION_IN_HELLO) {
            generation = readLong(body, "generation");
            if (generation < 0 || generation > JourneyProtocol.MAX_GENERATION) {
                throw fail("generation: " + generation + " (expected: 0.." + JourneyProtocol.MAX_GENERATION + ")");
            }
        }
        return new JourneyMessage.Hello(version, sourceId, volumeId, size, (int) blockSize, credential, generation);
    }

    private JourneyMessage.Batch readBatch(ByteBuf body) {
        long batchId = readLong(body, "batchId");
        long first = readLong(body, "firstSequence");
        long last = readLong(body, "lastSequence");
        long count = readInt(body, "recordCount") & 0xFFFFFFFFL;
        Compression compression = Compression.fromWireValue(readByte(body, "compression"));
        long uncompressed = readInt(body, "uncompressedLength") & 0xFFFFFFFFL;
        int crc = readInt(body, "crc32c");
        if (uncompressed > maxFrameBytes) {
            throw fail("uncompressedLength: " + uncompressed + " (expected: 0.." + maxFrameBytes + ")");
        }
        if (count > Integer.MAX_VALUE) {
            throw fail("recordCount: " + count + " (expected: 1.." + Integer.MAX_VALUE + ")");
        }
        byte[] bytes = new byte[body.readableBytes()];
        body.readBytes(bytes);
        return new JourneyMessage.Batch(batchId, first, last, (int) count, compression, (int) uncompressed, crc,
                bytes);
    }

    private String readString(ByteBuf body, String field) {
        int n = readShort(body, field + ".length");
        need(body, n, field);
        return body.readCharSequence(n, StandardCharsets.UTF_8).toString();
    }

    private long readLong(ByteBuf body, String field) {
        need(body, 8, field);
        return body.readLong();
    }

    private int readInt(ByteBuf body, String field) {
        need(body, 4, field);
        return body.readInt();
    }

    private int readShort(ByteBuf body, String field) {
        need(body, 2, field);
        return body.readUnsignedShort();
    }

    private int readByte(ByteBuf body, String field) {
        need(body, 1, field);
        return body.readUnsignedByte();
    }

    private void need(ByteBuf body, int n, String field) {
        if (body.readableBytes() < n) {
            throw fail(field + ": " + body.readableBytes() + " bytes left in the frame (expected: >= " + n + ")");
        }
    }

    private JourneyProtocolException fail(String detail) {
        state = State.BAD_FRAME;
        return new JourneyProtocolException(detail + (type == null ? "" : " type=" + type));
    }
}
