package io.tapline.tools;

import io.tapline.tools.cli.CliFailure;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Reads another process's status files within a time limit. A directory on a disk that stopped
 * answering blocks its reader in the kernel (a {@code readdir} waits for the directory's lock,
 * which a stuck fsync holds) for as long as the disk does: {@code tapline status} would hang with
 * it. Here the read runs on a daemon thread, and a read that does not end in time is a one-line
 * failure that says what did not answer; the stuck thread does not keep the process from exiting.
 */
final class BoundedRead {
    private BoundedRead() {
    }

    /**
     * The result of {@code read}, or a {@link CliFailure} (exit 1) naming {@code what} when it
     * takes longer than {@code limit}. Its own exceptions are rethrown as they are.
     */
    static <T> T within(Duration limit, String what, Callable<T> read) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try {
                result.complete(read.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        }, "status-read");
        reader.setDaemon(true);
        reader.start();
        try {
            return result.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new CliFailure(what + " did not answer within " + limit.toSeconds() + " s: its disk may have"
                    + " stopped answering (a process stuck on it shows that in its metrics, served from memory:"
                    + " tapline_buffer_status_age_seconds, tapline_replay_unapplied_seconds)");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }
}
