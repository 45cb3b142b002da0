package io.tapline.journey;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.MessageToByteEncoder;
import java.nio.charset.StandardCharsets;

/**
 * Encodes {@link JourneyMessage}s into journey link frames; the byte layout is documented on
 * {@link JourneyDecoder}.
 *
 * <p>Stateless and {@linkplain ChannelHandler.Sharable sharable}. Messages hold no buffers; the
 * encoder allocates the outbound {@link ByteBuf}, which Netty releases after writing. A message
 * whose frame would exceed the configured bound fails the write with an {@link EncoderException}.
 */
@ChannelHandler.Sharable
public final class JourneyEncoder extends MessageToByteEncoder<JourneyMessage> {

    private final int maxFrameBytes;

    /** An encoder bounded by {@link JourneyProtocol#DEFAULT_MAX_FRAME_BYTES}. */
    public JourneyEncoder() {
        this(JourneyProtocol.DEFAULT_MAX_FRAME_BYTES);
    }

    /** An encoder that refuses frames whose length field would exceed {@code maxFrameBytes}. */
    public JourneyEncoder(int maxFrameBytes) {
        super(JourneyMessage.class);
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, JourneyMessage msg, boolean preferDirect) {
        long length = frameLength(msg);
        checkFrameLength(length, maxFrameBytes, msg.type());
        int size = (int) length + 4;
        return preferDirect ? ctx.alloc().ioBuffer(size) : ctx.alloc().heapBuffer(size);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, JourneyMessage msg, ByteBuf out) {
        out.writeInt((int) frameLength(msg));
        out.writeByte(msg.type().wireValue());
        switch (msg.type()) {
            case HELLO -> {
                JourneyMessage.Hello h = (JourneyMessage.Hello) msg;
                out.writeShort(h.protocolVersion());
                writeString(out, h.sourceId());
                writeString(out, h.volumeId());
                out.writeLong(h.volumeSizeBytes());
                out.writeInt(h.blockSizeBytes());
                writeString(out, h.credential());
                if (h.protocolVersion() >= JourneyProtocol.GENERATION_IN_HELLO) {
                    out.writeLong(h.generation());
                }
            }
            case WELCOME -> out.writeLong(((JourneyMessage.Welcome) msg).lastAppliedSequence());
            case REFUSED -> writeString(out, ((JourneyMessage.Refused) msg).reason());
            case BATCH -> {
                JourneyMessage.Batch b = (JourneyMessage.Batch) msg;
                writeBatchHeader(out, b.batchId(), b.firstSequence(), b.lastSequence(), b.recordCount(),
                        b.compression(), b.uncompressedLength(), b.crc32c());
                out.writeBytes(b.body());
            }
            case ACK -> {
                JourneyMessage.Ack a = (JourneyMessage.Ack) msg;
                out.writeLong(a.batchId());
                out.writeLong(a.lastAppliedSequence());
                out.writeInt(a.crc32c());
            }
            case ERROR -> writeString(out, ((JourneyMessage.Error) msg).message());
            case ADMIN_REQUEST -> {
                JourneyMessage.AdminRequest a = (JourneyMessage.AdminRequest) msg;
                writeString(out, a.credential());
                writeString(out, a.actor());
                writeString(out, a.volumeId());
                out.writeByte(a.action());
                out.writeByte(a.targetKind());
                out.writeLong(a.value());
                writeString(out, a.markName());
            }
            case ADMIN_PROGRESS -> {
                JourneyMessage.AdminProgress p = (JourneyMessage.AdminProgress) msg;
                out.writeLong(p.done());
                out.writeLong(p.total());
            }
            case ADMIN_DONE -> {
                JourneyMessage.AdminDone d = (JourneyMessage.AdminDone) msg;
                out.writeByte(d.ok() ? 1 : 0);
                out.writeLong(d.sequence());
                writeString(out, d.message());
            }
            case CONTROL -> out.writeBytes(((JourneyMessage.Control) msg).body());
            default -> throw new EncoderException("type: " + msg.type() + " (expected: a journey message)");
        }
    }

    /**
     * Writes a BATCH body's fixed fields, those before the record bytes ({@link BatchFrameBuilder}
     * writes them into the frame it built in place).
     */
    static void writeBatchHeader(ByteBuf out, long batchId, long firstSequence, long lastSequence, int recordCount,
            Compression compression, int uncompressedLength, int crc32c) {
        out.writeLong(batchId);
        out.writeLong(firstSequence);
        out.writeLong(lastSequence);
        out.writeInt(recordCount);
        out.writeByte(compression.wireValue());
        out.writeInt(uncompressedLength);
        out.writeInt(crc32c);
    }

    /** Refuses a frame whose length field would exceed {@code maxFrameBytes}. */
    static void checkFrameLength(long length, int maxFrameBytes, MessageType type) {
        if (length > maxFrameBytes) {
            throw new EncoderException("length: " + length + " (expected: 1.." + maxFrameBytes + ") type=" + type);
        }
    }

    /** The frame's length field: type byte plus body. */
    static long frameLength(JourneyMessage msg) {
        long body = switch (msg.type()) {
            case HELLO -> {
                JourneyMessage.Hello h = (JourneyMessage.Hello) msg;
                yield 2 + str(h.sourceId()) + str(h.volumeId()) + 8 + 4 + str(h.credential())
                        + (h.protocolVersion() >= JourneyProtocol.GENERATION_IN_HELLO ? 8 : 0);
            }
            case WELCOME -> 8;
            case REFUSED -> str(((JourneyMessage.Refused) msg).reason());
            case BATCH -> JourneyProtocol.BATCH_HEADER_BYTES + (long) ((JourneyMessage.Batch) msg).body().length;
            case ACK -> 8 + 8 + 4;
            case ERROR -> str(((JourneyMessage.Error) msg).message());
            case ADMIN_REQUEST -> {
                JourneyMessage.AdminRequest a = (JourneyMessage.AdminRequest) msg;
                yield str(a.credential()) + str(a.actor()) + str(a.volumeId()) + 1 + 1 + 8 + str(a.markName());
            }
            case ADMIN_PROGRESS -> 16;
            case ADMIN_DONE -> 1 + 8 + str(((JourneyMessage.AdminDone) msg).message());
            case CONTROL -> ((JourneyMessage.Control) msg).body().length;
        };
        return 1 + body;
    }
    private static int str(String s) {
        return 2 + s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static void writeString(ByteBuf out, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        out.writeShort(bytes.length);
        out.writeBytes(bytes);
    }
}
