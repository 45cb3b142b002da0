package io.tapline.journey.shipper;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tapline.journey.CompressionChoice;
import org.junit.jupiter.api.Test;

class CompressionPolicyTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void startsWithZstdOneAndMeasuresBeforeChanging() {
        CompressionPolicy p = new CompressionPolicy();
        assertEquals(CompressionChoice.zstd(1), p.choose(0, 0));
        assertEquals(CompressionChoice.zstd(1), p.choose(1000, SECOND / 2), "half a second is too short to judge");
        assertEquals(-1, p.lastRate());
    }

    @Test
    void slowLineGetsZstdThreeMiddleLineZstdOneFastLineLz4() {
        CompressionPolicy p = new CompressionPolicy();
        p.choose(0, 0);
        long bytes = 10L << 20; // 10 MiB/s: a 100 Mbit/s line
        assertEquals(CompressionChoice.zstd(3), p.choose(bytes, SECOND));
        bytes += 60L << 20;
        assertEquals(CompressionChoice.zstd(1), p.choose(bytes, 2 * SECOND));
        bytes += 500L << 20;
        assertEquals(CompressionChoice.LZ4, p.choose(bytes, 3 * SECOND));
        assertEquals(500L << 20, p.lastRate());
    }

    @Test
    void aNewSessionKeepsTheLastChoiceUntilItIsMeasured() {
        CompressionPolicy p = new CompressionPolicy();
        p.choose(0, 0);
        assertEquals(CompressionChoice.zstd(3), p.choose(1L << 20, SECOND));
        assertEquals(CompressionChoice.zstd(3), p.choose(0, SECOND + 1), "the counter starts again at 0");
        assertEquals(CompressionChoice.LZ4, p.choose(1L << 30, 2 * SECOND + 1));
    }
}
