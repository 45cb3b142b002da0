package io.tapline.journey.shipper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void delaysDoubleWithJitterUpToTheMaximumAndReset() {
        Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofMillis(500));
        long[] bases = {100, 200, 400, 500, 500};
        for (long base : bases) {
            long d = b.nextMillis();
            assertTrue(d >= base / 2 && d <= base, "delay " + d + " (expected: " + base / 2 + ".." + base + ")");
        }
        b.reset();
        long d = b.nextMillis();
        assertTrue(d >= 50 && d <= 100, "after reset: " + d);
    }

    @Test
    void configDefaultsAndRemoteId() {
        ShipperConfig c = ShipperConfig.of(InetSocketAddress.createUnresolved("replica.example", 7070), "src", "vol1",
                1 << 30, 4096);
        assertEquals("replica.example:7070", c.remoteId());
        assertEquals("replica.example_7070", c.cursorId());
        assertEquals("0_0_0_0_0_0_0_1_7070", ShipperConfig.of(new InetSocketAddress("::1", 7070), "s", "v", 1, 1)
                .cursorId());
        String longHost = "h".repeat(80) + ".example";
        String cursor = ShipperConfig.of(InetSocketAddress.createUnresolved(longHost, 1), "s", "v", 1, 1).cursorId();
        assertEquals(64, cursor.length());
        assertTrue(cursor.matches("[A-Za-z0-9._-]{64}"), cursor);
        assertEquals(4 << 20, c.maxBatchBytes());
        assertEquals(4, c.maxInFlightBatches());
        assertEquals(Duration.ofMillis(100), c.minBackoff());
        assertEquals(Duration.ofSeconds(5), c.maxBackoff());
        assertTrue(c.withCredential("x").toString().contains("credential=***"));
    }

    @Test
    void configRejectsBadValuesNamingThem() {
        ShipperConfig c = ShipperConfig.of(new InetSocketAddress("127.0.0.1", 1), "src", "vol1", 4096, 512);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.withMaxInFlightBatches(0));
        assertEquals("maxInFlightBatches: 0 (expected: >= 1)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> c.withBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
        assertEquals("maxBackoff: PT1S (expected: >= minBackoff PT2S)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ShipperConfig.of(new InetSocketAddress("127.0.0.1", 1), "src", "vol1", 0, 512));
        assertEquals("volumeSizeBytes: 0 (expected: > 0)", e.getMessage());
    }
}
