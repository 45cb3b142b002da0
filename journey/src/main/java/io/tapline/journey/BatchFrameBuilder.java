package io.tapline.journey;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.EncoderException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Builds a BATCH frame in place, in one direct buffer: the shipper appends each record's stored
 * encoding as it reads it from the capture buffer, then seals the frame (CRC-32C, compression,
 * header). The frame is byte for byte what {@link JourneyEncoder} writes for the batch
 * {@link BatchCodec#pack} makes of the same records and compression choice, with the same
 * compression rules; but no record is decoded, no payload or batch array is allocated, and the
 * bytes are copied once, from the buffer's read window into the frame the socket sends.
 *
 * <p>Compression works on heap copies kept by the builder (the compressors' array paths), so it
 * costs a copy only when it is tried on the whole batch.
 *
 * <p>Not thread-safe: one builder per shipping thread, one frame at a time.
 */
public final class BatchFrameBuilder {
    /** Frame bytes before the first record: length field, type, the BATCH header. */
    static final int RECORDS_AT = JourneyProtocol.FRAME_HEADER_BYTES + JourneyProtocol.BATCH_HEADER_BYTES;
    /** Frames kept for reuse: enough for the few a channel may still be writing. */
    static final int KEPT_FRAMES = 8;
    /** The largest buffer Netty 4.2's adaptive allocator pools (its 8 MiB chunk / 8); larger ones are kept here. */
    static final int POOLED_MAX_BYTES = 1 << 20;

    private final int maxFrameBytes;
    private final byte[] sample = new byte[BatchCodec.SAMPLE_BYTES];
    private byte[] uncompressed = new byte[0];
    private byte[] compressed = new byte[0];
    private ByteBuf frame;
    /** Frames this builder holds a reference to, for reuse once the channel released its own. */
    private final java.util.ArrayDeque<ByteBuf> kept = new java.util.ArrayDeque<>();
    private long firstSequence;
    private long lastSequence;
    private int records;

    /** A builder whose frames may not exceed {@link JourneyProtocol#DEFAULT_MAX_FRAME_BYTES}. */
    public BatchFrameBuilder() {
        this(JourneyProtocol.DEFAULT_MAX_FRAME_BYTES);
    }

    /** A builder whose frames' length fields may not exceed {@code maxFrameBytes}. */
    public BatchFrameBuilder(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    /**
     * Starts a frame in a direct buffer, room for {@code expectedRecordBytes} (it grows past
     * that). A frame still open is released first. A frame larger than the allocator pools
     * (Netty 4.2's adaptive allocator pools up to 1 MiB; a batch is 4 MiB) is one this builder
     * kept and the channel has released since (it holds one reference of its own to each, at most
     * {@link #KEPT_FRAMES}), else a new one from {@code alloc}, kept if there is room.
     *
     * <p>Why: an unpooled direct buffer is zeroed by the JDK and faulted in page by page when
     * written; a new 4 MiB frame per batch took 23 % of a wedge's CPU while shipping at 350 MB/s
     * (docs/benchmarks.md#write-once).
     */
    public void start(ByteBufAllocator alloc, int expectedRecordBytes) {
        discard();
        int capacity = RECORDS_AT + Math.max(0, expectedRecordBytes);
        frame = keptFrame(capacity);
        if (frame == null) {
            frame = alloc.directBuffer(capacity);
            if (capacity > POOLED_MAX_BYTES && kept.size() < KEPT_FRAMES) {
                kept.add(frame.retain());
            }
        }
        frame.writerIndex(RECORDS_AT);
    }

    /** A kept frame that only this builder references now, cleared and retained for one more use; or null. */
    private ByteBuf keptFrame(int capacity) {
        for (ByteBuf b : kept) {
            if (b.refCnt() == 1 && b.capacity() >= capacity) {
                b.clear();
                return b.retain();
            }
        }
        return null;
    }

    /** Releases the open frame and this builder's references to the frames it kept. */
    public void close() {
        discard();
        for (ByteBuf b : kept) {
            b.release();
        }
        kept.clear();
    }

    /**
     * Appends one encoded record ({@code record}'s position to its limit; not moved), whose
     * sequence must follow the previous record's.
     */
    public void add(ByteBuffer record, long sequence) {
        if (frame == null) {
            throw new IllegalStateException("no frame started");
        }
        if (records > 0 && sequence != lastSequence + 1) {
            throw new IllegalArgumentException("sequence: " + sequence + " (expected: " + (lastSequence + 1)
                    + ", dense)");
        }
        if (records == 0) {
            firstSequence = sequence;
        }
        frame.writeBytes(record.duplicate());
        lastSequence = sequence;
        records++;
    }

    /** Records appended to the open frame (0 when none is open). */
    public int records() {
        return records;
    }

    /** Record bytes appended to the open frame (0 when none is open). */
    public int recordBytes() {
        return frame == null ? 0 : frame.writerIndex() - RECORDS_AT;
    }

    /**
     * Closes the frame: checksums the record bytes, compresses them with {@code choice} when that
     * saves enough (as {@link BatchCodec#pack} decides), writes the header. The builder lets go of
     * the frame: the caller owns it, and the builder has no open frame.
     *
     * @throws IllegalStateException when no record was added
     * @throws EncoderException when the frame would exceed the bound (nothing is kept)
     */
    public BatchFrame seal(long batchId, CompressionChoice choice) {
        if (frame == null || records == 0) {
            throw new IllegalStateException("records: 0 (expected: >= 1)");
        }
        ByteBuf f = frame;
        frame = null;
        int count = records;
        records = 0;
        try {
            int length = f.writerIndex() - RECORDS_AT;
            CRC32C crc = new CRC32C();
            crc.update(f.nioBuffer(RECORDS_AT, length));
            Compression compression = compress(f, length, choice);
            int end = f.writerIndex();
            int body = end - RECORDS_AT;
            long frameLength = 1L + JourneyProtocol.BATCH_HEADER_BYTES + body;
            JourneyEncoder.checkFrameLength(frameLength, maxFrameBytes, MessageType.BATCH);
            f.writerIndex(0); // the header, in the room left before the records
            f.writeInt((int) frameLength);
            f.writeByte(MessageType.BATCH.wireValue());
            JourneyEncoder.writeBatchHeader(f, batchId, firstSequence, lastSequence, count, compression, length,
                    (int) crc.getValue());
            f.writerIndex(end);
            return new BatchFrame(f, batchId, firstSequence, lastSequence, count, (int) crc.getValue(), body);
        } catch (RuntimeException | Error e) {
            f.release();
            throw e;
        }
    }

    /** Releases the open frame, if any (a batch that will not be sent). */
    public void discard() {
        if (frame != null) {
            frame.release();
            frame = null;
        }
        records = 0;
    }

    /** Compresses the frame's records in place when worth it; returns what the body is. */
    private Compression compress(ByteBuf f, int length, CompressionChoice choice) {
        if (!BatchCodec.compressible(length)) {
            return Compression.NONE;
        }
        if (BatchCodec.sampled(length)) {
            f.getBytes(RECORDS_AT + BatchCodec.sampleOffset(length), sample, 0, sample.length);
            if (!BatchCodec.worthCompressing(sample, 0)) {
                return Compression.NONE;
            }
        }
        if (uncompressed.length < length) {
            uncompressed = new byte[length];
        }
        f.getBytes(RECORDS_AT, uncompressed, 0, length);
        int room = BatchCodec.maxCompressedLength(length, choice);
        if (compressed.length < room) {
            compressed = new byte[room];
        }
        int n = BatchCodec.compress(uncompressed, length, choice, compressed);
        if (n < 0) {
            return Compression.NONE;
        }
        f.setBytes(RECORDS_AT, compressed, 0, n);
        f.writerIndex(RECORDS_AT + n);
        return choice.codec();
    }
}
