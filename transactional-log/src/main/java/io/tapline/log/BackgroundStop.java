package io.tapline.log;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Stops an owner's background executor (a status publisher, a spool's poller) so that nothing it
 * runs outlives the owner's {@code close}: a status file written "running" after the owner wrote
 * "stopped", or a request file created in a directory being removed.
 *
 * <p>The task already running is not interrupted (an interrupted write to an interruptible channel
 * leaves its temporary file behind); periodic tasks are cancelled; tasks handed over with
 * {@code execute} before the stop still run.
 */
public final class BackgroundStop {
    /** How long an owner's close waits for its background task: a status write, a poll, a start. */
    public static final Duration CLOSE_LIMIT = Duration.ofSeconds(10);

    private BackgroundStop() {
    }

    /** {@link #awaitQuiet(ExecutorService, Duration)} with {@link #CLOSE_LIMIT}. */
    public static boolean awaitQuiet(ExecutorService executor) {
        return awaitQuiet(executor, CLOSE_LIMIT);
    }

    /**
     * Shuts {@code executor} down and waits up to {@code limit} for its tasks to end.
     *
     * @return false when a task was still running at the limit or the caller was interrupted
     *         (the interrupt is kept)
     */
    public static boolean awaitQuiet(ExecutorService executor, Duration limit) {
        executor.shutdown();
        try {
            return executor.awaitTermination(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
