package io.tapline.journey.shipper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class WindowSizerTest {
    private static final long MS = 1_000_000L;

    @Test
    void unmeasuredLineGetsTheFloor() {
        WindowSizer w = new WindowSizer(4);
        assertEquals(4, w.batches(-1, 50 * MS, 1 << 20));
        assertEquals(4, w.batches(25_000_000, -1, 1 << 20));
        assertEquals(4, w.batches(25_000_000, 50 * MS, 0));
    }

    @Test
    void twiceTheBandwidthDelayProductPlusOneBatch() {
        WindowSizer w = new WindowSizer(4);
        // 25 MB/s, 100 ms round trip: a product of 2.5 MB; batches of 1 MB on the wire: 2 * 2.5 + 1.
        assertEquals(6, w.batches(25_000_000, 100 * MS, 1_000_000));
        // 125 MB/s (a gigabit), 200 ms: 25 MB; 1 MB batches: 51.
        assertEquals(51, w.batches(125_000_000, 200 * MS, 1_000_000));
    }

    @Test
    void neverBelowTheFloorNorAboveTheWireBound() {
        WindowSizer w = new WindowSizer(4);
        assertEquals(4, w.batches(1_000_000, MS, 4 << 20), "a short fast loop needs little");
        // 1 GB/s over 1 s wants 2 GB in flight: capped at 64 MiB on the wire, 16 batches of 4 MiB.
        assertEquals(16, w.batches(1_000_000_000, 1000 * MS, 4 << 20));
        assertEquals(WindowSizer.MAX_BATCHES, w.batches(1_000_000_000, 1000 * MS, 1024));
        assertThrows(IllegalArgumentException.class, () -> new WindowSizer(0));
    }
}
