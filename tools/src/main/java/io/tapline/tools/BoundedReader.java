package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a read that a disk which stopped answering can block (status files, a buffer whose writer
 * waits in an fsync) on a daemon thread of its own, one read at a time, and waits for it a
 * bounded time. The caller answers without the figures rather than hang: a {@code readdir} there
 * waits in the kernel for as long as the disk does, and a thread per request would pile up. A
 * read that is still running is joined by the next caller, not started again.
 *
 * <p>Thread-safe.
 *
 * @param <T> what the read returns
 */
final class BoundedReader<T> {
    private final Callable<T> read;
    private final ExecutorService thread;
    private CompletableFuture<T> pending;
    private long pendingSinceNanos;

    BoundedReader(String threadName, Callable<T> read) {
        this.read = read;
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * The result of the read running now, or of a new one when none runs.
     *
     * @throws TimeoutException when that read has not ended {@code waitMillis} after it started
     *         (a later call waits only for what is left of that)
     * @throws Exception what the read threw
     */
    T get(long waitMillis) throws Exception {
        CompletableFuture<T> f;
        long leftNanos;
        synchronized (this) {
            long now = System.nanoTime();
            if (pending == null || pending.isDone()) {
                pending = CompletableFuture.supplyAsync(this::call, thread);
                pendingSinceNanos = now;
            }
            f = pending;
            leftNanos = pendingSinceNanos + TimeUnit.MILLISECONDS.toNanos(waitMillis) - now;
        }
        try {
            return f.get(Math.max(0, leftNanos), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof CompletionException c && c.getCause() != null ? c.getCause()
                    : e.getCause();
            if (cause instanceof Exception ex) {
                throw ex;
            }
            throw e;
        }
    }

    /**
     * For a server thread that answers without the figures: {@link #get}, or null when the read
     * did not end in time or failed (an interrupt is kept for the caller's thread).
     */
    T getOrNull(long waitMillis) {
        try {
            return get(waitMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (Exception e) {
            return null;
        }
    }

    /** How long the read running now has run, in milliseconds; 0 when none runs. */
    synchronized long runningForMillis() {
        return pending == null || pending.isDone() ? 0
                : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - pendingSinceNanos);
    }

    private T call() {
        try {
            return read.call();
        } catch (Exception e) {
            throw new CompletionException(e);
        }
    }

    /**
     * For a command: {@link #get}, or a {@link CliFailure} (exit 1) naming {@code what} when the
     * read takes longer than {@code limit}; the stuck thread (a daemon) does not keep the process
     * from exiting. The read's own exceptions are rethrown as they are.
     */
    T getOrFail(Duration limit, String what) throws Exception {
        try {
            return get(limit.toMillis());
        } catch (TimeoutException e) {
            throw new CliFailure(what + " did not answer within " + limit.toSeconds() + " s: its disk may have"
                    + " stopped answering (a process stuck on it shows that in its metrics, served from memory:"
                    + " tapline_buffer_status_age_seconds, tapline_replay_unapplied_seconds)");
        }
    }
}
