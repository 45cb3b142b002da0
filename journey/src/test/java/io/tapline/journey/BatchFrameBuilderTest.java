package io.tapline.journey;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.handler.codec.EncoderException;
import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * The frame built in place must be the very bytes the encoder writes for {@link BatchCodec#pack}'s
 * batch of the same records: the replayer cannot tell which path built it.
 */
class BatchFrameBuilderTest {

    static List<Arguments> batches() {
        return List.of(
                Arguments.of("one small record, too small to compress", TestRecords.writes("vol1", 9, 1, 100, false),
                        CompressionChoice.LZ4, Compression.NONE),
                Arguments.of("random 4 KiB records", TestRecords.writes("vol1", 1, 40, 4096, false),
                        CompressionChoice.LZ4, Compression.NONE),
                Arguments.of("text, LZ4", TestRecords.writes("vol1", 5, 40, 4096, true), CompressionChoice.LZ4,
                        Compression.LZ4),
                Arguments.of("text, zstd", TestRecords.writes("vol1", 5, 40, 4096, true), CompressionChoice.zstd(3),
                        Compression.ZSTD),
                Arguments.of("random 1 MiB records: the sample says no", TestRecords.writes("vol1", 3, 4, 1 << 20, false),
                        CompressionChoice.LZ4, Compression.NONE),
                Arguments.of("text 1 MiB records: sampled, then compressed", TestRecords.writes("vol1", 3, 4, 1 << 20, true),
                        CompressionChoice.zstd(1), Compression.ZSTD),
                Arguments.of("text around the middle only: the sample says yes, the whole saves too little",
                        textInTheMiddle(), CompressionChoice.LZ4, Compression.NONE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("batches")
    void buildsTheBytesTheEncoderWritesForThePackedBatch(String name, List<CaptureRecord> records,
            CompressionChoice choice, Compression expected) {
        JourneyMessage.Batch packed = BatchCodec.pack(42, records, choice);
        assertEquals(expected, packed.compression(), "the case tests what it says");

        BatchFrameBuilder builder = new BatchFrameBuilder();
        builder.start(PooledByteBufAllocator.DEFAULT, 1024); // smaller than the batch: the frame grows
        for (CaptureRecord r : records) {
            builder.add(ByteBuffer.wrap(RecordCodec.encode(r)).asReadOnlyBuffer(), r.sequence());
        }
        BatchFrame frame = builder.seal(42, choice);
        try {
            assertArrayEquals(TestFrames.encoded(packed), ByteBufUtil.getBytes(frame.frame()));
            assertEquals(packed.crc32c(), frame.crc32c());
            assertEquals(packed.body().length, frame.bodyBytes());
            assertEquals(records.get(0).sequence(), frame.firstSequence());
            assertEquals(records.get(records.size() - 1).sequence(), frame.lastSequence());
            assertEquals(records.size(), frame.recordCount());
        } finally {
            frame.frame().release();
        }
    }

    @Test
    void aBuilderIsReusedFrameAfterFrame() {
        BatchFrameBuilder builder = new BatchFrameBuilder();
        for (int round = 0; round < 3; round++) {
            List<CaptureRecord> records = TestRecords.writes("vol1", 1 + round * 10, 10, 8192, round % 2 == 0);
            builder.start(PooledByteBufAllocator.DEFAULT, 1 << 20);
            records.forEach(r -> builder.add(ByteBuffer.wrap(RecordCodec.encode(r)), r.sequence()));
            BatchFrame frame = builder.seal(round, CompressionChoice.LZ4);
            assertEquals(0, builder.records(), "a sealed frame is the caller's: the builder has none open");
            assertEquals(0, builder.recordBytes());
            try {
                assertArrayEquals(TestFrames.encoded(BatchCodec.pack(round, records)), ByteBufUtil.getBytes(frame.frame()));
            } finally {
                frame.frame().release();
            }
        }
    }

    @Test
    void refusesRecordsOutOfSequenceAndAnEmptyFrame() {
        List<CaptureRecord> records = TestRecords.writes("vol1", 1, 3, 64, false);
        BatchFrameBuilder builder = new BatchFrameBuilder();
        builder.start(PooledByteBufAllocator.DEFAULT, 1024);
        assertThrows(IllegalStateException.class, () -> builder.seal(1, CompressionChoice.LZ4));
        builder.start(PooledByteBufAllocator.DEFAULT, 1024);
        builder.add(ByteBuffer.wrap(RecordCodec.encode(records.get(0))), 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> builder.add(ByteBuffer.wrap(RecordCodec.encode(records.get(2))), 3));
        assertEquals("sequence: 3 (expected: 2, dense)", e.getMessage());
        builder.discard();
    }

    @Test
    void aFrameOverTheBoundIsRefusedAndReleased() {
        List<CaptureRecord> records = TestRecords.writes("vol1", 1, 2, 4096, false);
        BatchFrameBuilder builder = new BatchFrameBuilder(4096);
        builder.start(PooledByteBufAllocator.DEFAULT, 1024);
        records.forEach(r -> builder.add(ByteBuffer.wrap(RecordCodec.encode(r)), r.sequence()));
        EncoderException e = assertThrows(EncoderException.class, () -> builder.seal(1, CompressionChoice.LZ4));
        assertEquals("length: " + (1 + JourneyProtocol.BATCH_HEADER_BYTES + 2 * RecordCodec.encode(records.get(0)).length)
                + " (expected: 1..4096) type=BATCH", e.getMessage());
    }

    /**
     * 4 MiB of random bytes but 256 KiB of text around the middle: the sample there compresses,
     * the whole batch by less than 10 %.
     */
    private static List<CaptureRecord> textInTheMiddle() {
        Random random = new Random(7);
        List<CaptureRecord> out = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            byte[] payload = new byte[1 << 20];
            random.nextBytes(payload);
            if (i == 1) {
                java.util.Arrays.fill(payload, payload.length - (128 << 10), payload.length, (byte) 'x');
            } else if (i == 2) {
                java.util.Arrays.fill(payload, 0, 128 << 10, (byte) 'y');
            }
            out.add(TestRecords.write("vol1", 1 + i, (long) i << 20, payload));
        }
        return out;
    }

    /**
     * A large frame is reused only once the channel released it, and never while it may still be
     * written: a frame reused too early would send another batch's bytes under this one's header.
     */
    @Test
    void aLargeFrameIsReusedOnlyAfterTheChannelReleasedIt() {
        List<CaptureRecord> first = TestRecords.writes("vol1", 1, 4, 1 << 20, false);
        List<CaptureRecord> second = TestRecords.writes("vol1", 5, 4, 1 << 20, false);
        BatchFrameBuilder builder = new BatchFrameBuilder();
        BatchFrame a = build(builder, first, 1);
        BatchFrame b = build(builder, second, 2); // a not released yet: another frame
        assertNotSame(a.frame(), b.frame());
        byte[] bBytes = ByteBufUtil.getBytes(b.frame());
        a.frame().release(); // written by the channel
        BatchFrame c = build(builder, first, 3);
        assertSame(a.frame(), c.frame(), "a's buffer reused");
        assertEquals(2, a.frame().refCnt(), "the builder's reference and c's");
        assertArrayEquals(TestFrames.encoded(BatchCodec.pack(3, first, CompressionChoice.LZ4)),
                ByteBufUtil.getBytes(c.frame()));
        assertArrayEquals(bBytes, ByteBufUtil.getBytes(b.frame()), "b untouched while unreleased");
        b.frame().release();
        c.frame().release();
        builder.close();
        assertEquals(0, a.frame().refCnt(), "close lets go of kept frames");
        assertEquals(0, b.frame().refCnt());
    }

    private static BatchFrame build(BatchFrameBuilder builder, List<CaptureRecord> records, long batchId) {
        builder.start(PooledByteBufAllocator.DEFAULT, BatchFrameBuilder.POOLED_MAX_BYTES * 4);
        for (CaptureRecord r : records) {
            builder.add(ByteBuffer.wrap(RecordCodec.encode(r)).asReadOnlyBuffer(), r.sequence());
        }
        return builder.seal(batchId, CompressionChoice.LZ4);
    }
}
