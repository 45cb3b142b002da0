package io.tapline.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tapline.log.undo.UndoLog;
import org.junit.jupiter.api.Test;

class ReplayMetricsTest {

    private static UndoLog.Window capturedAt(long timeMillis) {
        return new UndoLog.Window(false, 10, timeMillis * 1_000_000L, 20, 4096, 1, 4096);
    }

    @Test
    void windowSpansFromTheOldestCaptureTimeToNow() {
        double seconds = ReplayMetrics.windowSeconds(capturedAt(System.currentTimeMillis() - 90_000));
        assertTrue(seconds >= 90 && seconds < 120, "seconds " + seconds);
    }

    @Test
    void windowCapturedAheadOfThisClockIsNotKnownRatherThanNegative() {
        double seconds = ReplayMetrics.windowSeconds(capturedAt(System.currentTimeMillis() + 600_000));
        assertTrue(Double.isNaN(seconds), "seconds " + seconds);
    }

    @Test
    void windowCapturedWithinTheToleranceIsZero() {
        assertEquals(0.0, ReplayMetrics.windowSeconds(capturedAt(System.currentTimeMillis() + 200)));
    }
}
