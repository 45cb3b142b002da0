package io.tapline.journey.shipper;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tapline.journey.CompressionChoice;
import org.junit.jupiter.api.Test;

class CompressionPolicyTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void startsWithLz4AndMeasuresBeforeChanging() {
        CompressionPolicy p = new CompressionPolicy();
        assertEquals(CompressionChoice.LZ4, p.choose(0, 0));
        p.waitedForWindow(SECOND);
        assertEquals(CompressionChoice.LZ4, p.choose(1000, SECOND / 2), "half a second is too short to judge");
        assertEquals(-1, p.lastRate());
    }

    @Test
    void aLineThatBatchesWaitForGetsZstdThreeWhenSlowZstdOneWhenMiddlingLz4WhenFast() {
        CompressionPolicy p = new CompressionPolicy();
        p.choose(0, 0);
        long bytes = 10L << 20; // 10 MiB/s: a 100 Mbit/s line
        p.waitedForWindow(SECOND);
        assertEquals(CompressionChoice.zstd(3), p.choose(bytes, SECOND));
        bytes += 60L << 20;
        p.waitedForWindow(SECOND);
        assertEquals(CompressionChoice.zstd(1), p.choose(bytes, 2 * SECOND));
        bytes += 500L << 20;
        p.waitedForWindow(SECOND);
        assertEquals(CompressionChoice.LZ4, p.choose(bytes, 3 * SECOND));
        assertEquals(500L << 20, p.lastRate());
    }

    @Test
    void whenNoBatchWaitedTheHostIsTheLimitAndLz4KeepsTheLagLow() {
        CompressionPolicy p = new CompressionPolicy();
        p.choose(0, 0);
        p.waitedForWindow(SECOND);
        assertEquals(CompressionChoice.zstd(3), p.choose(1L << 20, SECOND));
        p.waitedForWindow(SECOND / 10);
        assertEquals(CompressionChoice.zstd(3), p.choose(2L << 20, 2 * SECOND), "compressing shortens the waits");
        p.waitedForWindow(SECOND / 100);
        assertEquals(CompressionChoice.LZ4, p.choose(3L << 20, 3 * SECOND), "a slow host, not a slow line");
        p.waitedForWindow(SECOND / 4);
        assertEquals(CompressionChoice.LZ4, p.choose(4L << 20, 4 * SECOND), "a quarter of the time is not most");
    }

    @Test
    void aNewSessionKeepsTheLastChoiceUntilItIsMeasured() {
        CompressionPolicy p = new CompressionPolicy();
        p.choose(0, 0);
        p.waitedForWindow(SECOND);
        assertEquals(CompressionChoice.zstd(3), p.choose(1L << 20, SECOND));
        assertEquals(CompressionChoice.zstd(3), p.choose(0, SECOND + 1), "the counter starts again at 0");
        p.waitedForWindow(SECOND);
        assertEquals(CompressionChoice.LZ4, p.choose(1L << 30, 2 * SECOND + 1));
    }
}
