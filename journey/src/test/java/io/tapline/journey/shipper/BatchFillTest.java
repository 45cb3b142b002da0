package io.tapline.journey.shipper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BatchFillTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void aBatchLingersForTheRestOfItsBoundOnly() {
        BatchFill fill = new BatchFill(2 * MS);
        fill.started(10 * MS);
        assertEquals(2 * MS, fill.lingerNanos(10 * MS));
        assertEquals(1, fill.lingerNanos(12 * MS - 1));
        // A steady stream never leaves a 1 ms gap: past the bound the batch waits no more.
        assertEquals(0, fill.lingerNanos(12 * MS));
        assertEquals(0, fill.lingerNanos(80 * MS));
        fill.started(100 * MS);
        assertEquals(MS, fill.lingerNanos(101 * MS), "the next batch has its own bound");
    }

    @Test
    void aZeroBoundTakesOnlyWhatIsThere() {
        BatchFill fill = new BatchFill(0);
        fill.started(0);
        assertEquals(0, fill.lingerNanos(0));
    }

    @Test
    void theDefaultIsTwoMillisecondsAndABadBoundIsRefusedInOneLine() {
        assertEquals(2 * MS, BatchFill.fromProperties().maxFillNanos());
        assertThrows(IllegalArgumentException.class, () -> new BatchFill(-1));
        for (String bad : new String[] {"-5", "2ms", "", "1000001"}) {
            System.setProperty(BatchFill.PROPERTY, bad);
            try {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, BatchFill::fromProperties);
                assertEquals("-Dtapline.ship.batchFillMicros: " + bad + " (expected: microseconds, 0..1000000)",
                        e.getMessage());
            } finally {
                System.clearProperty(BatchFill.PROPERTY);
            }
        }
        System.setProperty(BatchFill.PROPERTY, " 500 ");
        try {
            assertEquals(MS / 2, BatchFill.fromProperties().maxFillNanos());
        } finally {
            System.clearProperty(BatchFill.PROPERTY);
        }
    }
}
