package io.tapline.log;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link BackgroundStop}: the running task ends uninterrupted before the stop returns; no period runs after. */
class BackgroundStopTest {
    @Test
    @Timeout(30)
    void waitsForTheRunningTaskWithoutInterruptingItAndCancelsThePeriod() throws Exception {
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
        CountDownLatch entered = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        AtomicBoolean interrupted = new AtomicBoolean();
        AtomicBoolean finished = new AtomicBoolean();
        CountDownLatch release = new CountDownLatch(1);
        executor.scheduleWithFixedDelay(() -> {
            if (runs.incrementAndGet() > 1) {
                return;
            }
            entered.countDown();
            try {
                release.await(); // still running when the stop begins
            } catch (InterruptedException e) {
                interrupted.set(true);
            }
            finished.set(true);
        }, 0, 1, TimeUnit.MILLISECONDS);
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        Thread releaser = new Thread(() -> {
            awaitShutdown(executor); // the stop has begun while the task runs
            release.countDown();
        }, "releaser");
        releaser.start();
        assertTrue(BackgroundStop.awaitQuiet(executor, Duration.ofSeconds(10)));
        assertTrue(finished.get(), "the running task ended before the stop returned");
        assertFalse(interrupted.get(), "not interrupted");
        // terminated: no task can run any more, so the count is final
        assertTrue(executor.isTerminated() && runs.get() == 1, "no period after the stop: " + runs.get());
    }

    /** Polls until {@code executor} is shut down, for ten seconds at most. */
    private static void awaitShutdown(ScheduledExecutorService executor) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!executor.isShutdown() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    @Test
    @Timeout(30)
    void saysFalseWhenATaskOutlivesTheLimit() throws Exception {
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch entered = new CountDownLatch(1);
        executor.execute(() -> {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        assertFalse(BackgroundStop.awaitQuiet(executor, Duration.ofMillis(100)));
        release.countDown();
        assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
    }
}
