package io.tapline.journey.shipper;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Records a remote's acknowledgements in the capture buffer's cursor off the link's event loop,
 * newest first: acknowledgements that arrive while one is being written are folded into the
 * next write. Why: recording one is a durable file replacement (fsync, rename, directory fsync),
 * and on the event loop it held the link's window (and the next batches) for each one — tens of
 * milliseconds per acknowledgement while the replayer's disk is busy.
 *
 * <p>Safe because the cursor only has to be durable before what it covers is deleted, which the
 * buffer does after writing it: a crash before a write leaves an older cursor, and the records
 * after it are sent again and skipped by the replayer (it applies each sequence once). A session
 * that reads or moves the cursor first calls {@link #startSession}, so that no write of an earlier
 * session lands after its rewind.
 *
 * <p>Thread-safe: {@link #acked} from the event loop, {@link #startSession} from the shipper's thread.
 */
final class AckRecorder implements AutoCloseable {
    /** Writes the cursor; may throw IOException. */
    interface CursorWriter {
        void acknowledge(long sequence) throws IOException;
    }

    private final CursorWriter writer;
    private final Consumer<String> onFailure;
    private final ExecutorService thread;
    private final AtomicLong newest = new AtomicLong(-1);
    private final AtomicBoolean scheduled = new AtomicBoolean();
    /** The session whose acknowledgements are recorded (guarded by this). */
    private long session;

    AckRecorder(String volumeId, CursorWriter writer, Consumer<String> onFailure) {
        this.writer = writer;
        this.onFailure = onFailure;
        this.thread = Executors.newSingleThreadExecutor(new DefaultThreadFactory("tapline-ack-" + volumeId, true));
    }

    /**
     * An acknowledgement verified by the link of session {@code session}: written soon, folded
     * with any that follow it. Ignored when a later session has started (see {@link #startSession}).
     */
    synchronized void acked(long session, long sequence) {
        if (session != this.session) {
            return;
        }
        newest.accumulateAndGet(sequence, Math::max);
        if (scheduled.compareAndSet(false, true)) {
            thread.execute(this::record);
        }
    }

    /**
     * A new session begins: acknowledgements of earlier sessions that arrive from now on are
     * ignored, and those received before are written before this returns, so that the new
     * session reads (and may rewind) a cursor no earlier session's write will move after it.
     */
    void startSession(long session) throws IOException {
        synchronized (this) {
            this.session = session;
        }
        drain();
    }

    private void record() {
        scheduled.set(false); // first: an acknowledgement after the read below schedules another run
        long sequence = newest.getAndSet(-1);
        if (sequence < 0) {
            return;
        }
        try {
            writer.acknowledge(sequence);
        } catch (IOException | RuntimeException e) {
            onFailure.accept("recording ACK of seq " + sequence + " in the capture buffer: " + e);
        }
    }

    /** Waits until every acknowledgement passed to {@link #acked} so far is written (or failed). */
    private void drain() throws IOException {
        try {
            thread.submit(this::record).get(); // runs after any run already queued
        } catch (ExecutionException e) {
            throw new IOException("recording ACKs: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted recording ACKs");
        }
    }

    @Override
    public void close() {
        thread.shutdown();
        try {
            thread.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
