package io.tapline.snoop.capture;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * "Caught up" for a live capture that decodes behind a queue: frames waiting to be decoded are
 * delivery still under way, however long the decoder stalls; once the queue is empty, idleness
 * counts from the last frame decoded.
 */
class CaptureCountersTest {

    @Test
    void framesWaitingInTheDecodeQueueAreNeverIdleness() {
        CaptureCounters c = new CaptureCounters();
        long now = System.currentTimeMillis();
        c.lastPacketMillis = now - 10_000;
        c.lastDeliveryMillis = now - 10_000;
        c.lastKernelArrivalMillis = now - 10_000;
        boolean[] waiting = {true};
        c.backlog(() -> waiting[0]);
        assertFalse(c.decodedEverythingUpTo(now - 5_000, now + 1_000), "a stalled decoder with a backlog");
        waiting[0] = false;
        assertTrue(c.decodedEverythingUpTo(now - 5_000, now + 1_000), "queue empty, idle since the last frame");
    }
}
