package io.tapline.journey.shipper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

class AckRecorderTest {

    @Test
    void acksWhileAWriteRunsAreFoldedIntoTheNewest() throws Exception {
        List<Long> written = new CopyOnWriteArrayList<>();
        CountDownLatch firstStarted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (AckRecorder r = new AckRecorder("vol1", seq -> {
            written.add(seq);
            firstStarted.countDown();
            try {
                release.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, reason -> { })) {
            r.startSession(1);
            r.acked(1, 10);
            assertTrue(firstStarted.await(5, TimeUnit.SECONDS));
            for (long seq = 11; seq <= 40; seq++) {
                r.acked(1, seq); // the write of 10 is still running
            }
            release.countDown();
            r.startSession(2); // waits until everything received is written
            assertEquals(List.of(10L, 40L), written);
        }
    }

    @Test
    void anEarlierSessionsAckAfterTheNextSessionStartedIsIgnored() throws Exception {
        List<Long> written = new CopyOnWriteArrayList<>();
        try (AckRecorder r = new AckRecorder("vol1", written::add, reason -> { })) {
            r.startSession(1);
            r.acked(1, 5);
            r.startSession(2);
            assertEquals(List.of(5L), written, "session 1's ACK is written before session 2 reads the cursor");
            r.acked(1, 9); // late, from the link that ended: the replayer may have rolled back since
            r.acked(2, 7);
            r.startSession(3);
            assertEquals(List.of(5L, 7L), written);
        }
    }

    @Test
    void aFailedWriteIsReportedWithItsSequence() throws Exception {
        List<String> failures = new CopyOnWriteArrayList<>();
        try (AckRecorder r = new AckRecorder("vol1", seq -> {
            throw new IOException("No space left on device");
        }, failures::add)) {
            r.startSession(1);
            r.acked(1, 3);
            r.startSession(2);
            assertEquals(List.of("recording ACK of seq 3 in the capture buffer: java.io.IOException: No space left on device"),
                    failures);
        }
    }

    @Test
    void acksWithinAnIntervalAreOneWriteAtItsEndAndASessionStartWritesAtOnce() throws Exception {
        List<Long> written = new CopyOnWriteArrayList<>();
        try (AckRecorder r = new AckRecorder("vol1", written::add, reason -> { }, TimeUnit.HOURS.toNanos(1))) {
            r.startSession(1);
            r.acked(1, 1);
            await("the first ACK written", () -> !written.isEmpty());
            assertEquals(List.of(1L), written, "the first is written at once");
            for (long seq = 2; seq <= 100; seq++) {
                r.acked(1, seq);
            }
            await("the recorder holding ACKs for the interval", r::waitingForInterval);
            assertEquals(List.of(1L), written, "the others wait for the interval's end");
            r.startSession(2);
            assertEquals(List.of(1L, 100L), written, "folded into one write, made at once for the new session");
            r.acked(2, 101);
        }
        assertEquals(List.of(1L, 100L, 101L), written, "close writes what is pending, not after the hour");
    }

    @Test
    void anIntervalThatIsNotAWholeNumberOfMillisecondsStopsTheStart() {
        System.setProperty(AckRecorder.PROPERTY, "50ms");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new AckRecorder("vol1", seq -> { }, reason -> { }));
            assertEquals("-Dtapline.ship.cursorWriteMillis: 50ms (expected: milliseconds, 0..10000)", e.getMessage());
        } finally {
            System.clearProperty(AckRecorder.PROPERTY);
        }
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            LockSupport.parkNanos(1_000_000L);
        }
    }
}
