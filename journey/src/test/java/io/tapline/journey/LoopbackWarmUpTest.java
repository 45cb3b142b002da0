package io.tapline.journey;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The loopback warm-up carries every frame over real sockets, and fails fast and clean. */
class LoopbackWarmUpTest {
    private static final int MAX_FRAME = JourneyProtocol.DEFAULT_MAX_FRAME_BYTES;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void everyFrameArrivesDecodedAsOftenAsItsRoundsSay() throws Exception {
        List<JourneyMessage.Batch> large = batches(1, 3, 64, 16 << 10);
        List<JourneyMessage.Batch> small = batches(100, 5, 1, 4 << 10);
        List<ByteBuf> largeFrames = WarmUpSupport.encode(large, MAX_FRAME);
        List<ByteBuf> smallFrames = WarmUpSupport.encode(small, MAX_FRAME);
        long expectedBytes = LoopbackWarmUp.LARGE_ROUNDS * bytes(largeFrames) + LoopbackWarmUp.SMALL_ROUNDS * bytes(smallFrames);
        Map<Long, Integer> timesSeen = new ConcurrentHashMap<>();
        Map<Long, Integer> records = new ConcurrentHashMap<>();

        LoopbackWarmUp.Result r = LoopbackWarmUp.carry(largeFrames, smallFrames, MAX_FRAME, b -> {
            timesSeen.merge(b.batchId(), 1, Integer::sum);
            records.put(b.batchId(), b.recordCount());
        });

        for (JourneyMessage.Batch b : large) {
            assertEquals(LoopbackWarmUp.LARGE_ROUNDS, timesSeen.get(b.batchId()), "batch " + b.batchId());
            assertEquals(64, records.get(b.batchId()));
        }
        for (JourneyMessage.Batch b : small) {
            assertEquals(LoopbackWarmUp.SMALL_ROUNDS, timesSeen.get(b.batchId()), "batch " + b.batchId());
        }
        assertEquals(large.size() + small.size(), timesSeen.size());
        assertEquals(3 * LoopbackWarmUp.LARGE_ROUNDS + 5 * LoopbackWarmUp.SMALL_ROUNDS, r.frames());
        assertEquals(expectedBytes, r.bytes());
        assertReleased(largeFrames);
        assertReleased(smallFrames);
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aReceiverThatFailsFailsTheWarmUpAtOnceAndEveryFrameIsReleased() throws Exception {
        List<ByteBuf> large = WarmUpSupport.encode(batches(1, 2, 4, 4 << 10), MAX_FRAME);
        List<ByteBuf> small = WarmUpSupport.encode(batches(100, 2, 1, 4 << 10), MAX_FRAME);

        IOException e = assertThrows(IOException.class, () -> LoopbackWarmUp.carry(large, small, MAX_FRAME, b -> {
            throw new IllegalStateException("receiver broke");
        }));

        assertTrue(e.getMessage().contains("receiver broke"), e.getMessage());
        assertReleased(large);
        assertReleased(small);
    }

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    void aFrameThatIsNotABatchIsRefused() {
        List<ByteBuf> notBatches = WarmUpSupport.encode(List.of(new JourneyMessage.Hello(JourneyProtocol.VERSION, "src",
                "vol1", 1 << 20, 4096, "")), MAX_FRAME);

        IOException e = assertThrows(IOException.class,
                () -> LoopbackWarmUp.carry(notBatches, List.of(), MAX_FRAME, b -> { }));

        assertTrue(e.getMessage().contains("expected: BATCH"), e.getMessage());
        assertReleased(notBatches);
    }

    private static List<JourneyMessage.Batch> batches(long firstId, int count, int recordsEach, int recordBytes) {
        List<JourneyMessage.Batch> out = new ArrayList<>();
        long seq = 1;
        for (int i = 0; i < count; i++) {
            out.add(BatchCodec.pack(firstId + i, TestRecords.writes("vol1", seq, recordsEach, recordBytes, false),
                    CompressionChoice.LZ4));
            seq += recordsEach;
        }
        return out;
    }

    private static long bytes(List<ByteBuf> frames) {
        long sum = 0;
        for (ByteBuf f : frames) {
            sum += f.readableBytes();
        }
        return sum;
    }

    private static void assertReleased(List<ByteBuf> frames) {
        for (ByteBuf f : frames) {
            assertEquals(0, f.refCnt(), "a frame left unreleased");
        }
    }
}
