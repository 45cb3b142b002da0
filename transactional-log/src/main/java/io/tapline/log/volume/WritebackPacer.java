package io.tapline.log.volume;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link PageCachePolicy#PACED} for small writes: once {@link #KICK_BYTES} were written since the last kick, a
 * daemon thread starts the writeback of every dirty page of the file ({@code sync_file_range}
 * with {@code SYNC_FILE_RANGE_WRITE} over the whole file) and waits for nothing. The writers pay
 * one atomic add per write; the kick's own cost (walking the dirty pages, blocking while the
 * device queue is full) stays off their path. Dirty pages then stay around one kick's worth
 * instead of the gigabytes the kernel lets age for 30 s and flushes at once.
 *
 * <p>A failed kick stops the pacing (the writes themselves succeeded; an I/O error resurfaces at
 * the owner's next {@code fdatasync}).
 */
final class WritebackPacer implements AutoCloseable {
    /** Bytes written between two kicks. */
    static final long KICK_BYTES = 16L << 20;

    /** Starts the writeback of the whole file; throws when the platform refuses. */
    interface Kick {
        void startWriteback() throws Exception;
    }

    private final Kick kick;
    private final AtomicLong sinceKick = new AtomicLong();
    private final Semaphore wakeUps = new Semaphore(0);
    private final Thread thread;
    private volatile boolean closed;

    WritebackPacer(String name, Kick kick) {
        this.kick = kick;
        this.thread = new Thread(this::run, "writeback-pacer " + name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Counts a completed write of {@code length} bytes; wakes the kicker every {@link #KICK_BYTES}. */
    void written(long length) {
        long n = sinceKick.addAndGet(length);
        if (n >= KICK_BYTES && sinceKick.compareAndSet(n, 0) && wakeUps.availablePermits() == 0) {
            wakeUps.release();
        }
    }

    private void run() {
        while (!closed) {
            try {
                wakeUps.acquire();
            } catch (InterruptedException e) {
                return;
            }
            wakeUps.drainPermits();
            if (closed) {
                return;
            }
            try {
                kick.startWriteback();
            } catch (Exception | LinkageError e) {
                return;
            }
        }
    }

    /** Stops the kicker and waits (briefly) until no kick runs, so that the file may be closed. */
    @Override
    public void close() {
        closed = true;
        wakeUps.release();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
