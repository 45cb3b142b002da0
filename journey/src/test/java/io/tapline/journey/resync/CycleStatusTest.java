package io.tapline.journey.resync;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The replicas' image age comes from the monotonic clock when the engine knows it, not from the wall clock's distance. */
class CycleStatusTest {
    private static CycleStatus copiedAt(long lastCopiedAtMillis, long monotonicAgeMillis) {
        return new CycleStatus(5, 3, 10, 0, 0, 0, 2, lastCopiedAtMillis, 800, 2, monotonicAgeMillis);
    }

    @Test
    void aClockSteppedBackSinceTheFreezeDoesNotMakeTheImageNew() {
        long frozenAt = 1_765_000_000_000L;
        long nowAfterAStepBack = frozenAt - 600_000;
        assertEquals(7_000, copiedAt(frozenAt, 7_000).imageAgeMillis(nowAfterAStepBack));
    }

    @Test
    void withoutTheMonotonicAgeTheWallClockSaysWhatItCan() {
        long frozenAt = 1_765_000_000_000L;
        assertEquals(4_000, copiedAt(frozenAt, 0).imageAgeMillis(frozenAt + 4_000), "a file of an older build");
        assertEquals(-1, copiedAt(0, 0).imageAgeMillis(frozenAt), "no cycle copied yet");
    }
}
