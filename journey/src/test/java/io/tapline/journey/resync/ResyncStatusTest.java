package io.tapline.journey.resync;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** {@link ResyncStatus#progressText}: a waiting engine's figures are the last epoch's, and say so. */
class ResyncStatusTest {
    @Test
    void figuresAreTheRunningEpochsOnlyWhileItRuns() {
        ResyncStatus running = new ResyncStatus("resyncing", "comparing", "ab", false, 10, 4, 4096, 512, 1, "");
        assertEquals("compared 4/10 chunks (4096 bytes), sent 512 bytes", running.progressText());
        ResyncStatus waiting = new ResyncStatus("waiting", "link down", "ab", false, 10, 10, 8192, 512, 2, "done");
        assertEquals("last epoch ab: compared 10/10 chunks (8192 bytes), sent 512 bytes", waiting.progressText());
        assertEquals("no epoch yet", new ResyncStatus("waiting", "x", "", false, 0, 0, 0, 0, 0, "").progressText());
    }
}
