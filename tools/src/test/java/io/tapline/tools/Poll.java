package io.tapline.tools;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits in tests for a condition another process or thread brings about (files it writes, a port
 * it opens, a clock passing a time): checks it every few milliseconds until it holds or the
 * deadline passes, then fails naming what it waited for.
 */
final class Poll {
    private static final long STEP_MILLIS = 20;

    private Poll() {
    }

    /** Returns once {@code condition} holds; fails with {@code what} after {@code timeout}. */
    static void until(Duration timeout, Supplier<String> what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout + ": " + what.get());
            }
            Thread.sleep(STEP_MILLIS); // the condition changes on other threads or in other processes
        }
    }

    /** A check that may throw, as a plain condition (its exception fails the test). */
    interface Check {
        boolean holds() throws Exception;
    }

    static BooleanSupplier of(Check check) {
        return () -> {
            try {
                return check.holds();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
    }
}
