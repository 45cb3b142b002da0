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
 * <p>Writes are at least {@link #minIntervalNanos} apart ({@code -Dtapline.ship.cursorWriteMillis},
 * default {@link #DEFAULT_INTERVAL_MILLIS}; 0: one write per acknowledgement that finds none
 * running): a replayer that keeps up with small writes acknowledges a few hundred groups a second,
 * and each write is two fsyncs, a new file and a deleted one. The acknowledgements of the interval
 * are folded into one write at its end; nothing is dropped, and only what follows from the cursor
 * waits: the deletion of acknowledged segments and a status read from the files (which then says
 * less, never more). {@link #startSession} and {@link #close} write at once.
 *
 * <p>Thread-safe: {@link #acked} from the event loop, {@link #startSession} from the shipper's thread.
 */
final class AckRecorder implements AutoCloseable {
    /** Writes the cursor; may throw IOException. */
    interface CursorWriter {
        void acknowledge(long sequence) throws IOException;
    }

    /** Default least time between two cursor writes. */
    static final long DEFAULT_INTERVAL_MILLIS = 50;
    /** Largest interval accepted: 10 s (acknowledged segments wait that long to be deleted). */
    static final long MAX_INTERVAL_MILLIS = 10_000;
    static final String PROPERTY = "tapline.ship.cursorWriteMillis";

    private final CursorWriter writer;
    private final long minIntervalNanos;
    /** Guards {@link #urgent}; the recording thread waits on it for the rest of an interval. */
    private final Object timer = new Object();
    private boolean urgent;
    /** When the last write ended, on the recording thread; one interval back at first, so the first write waits for nothing. */
    private long lastWriteNanos;
    /** The recording thread is waiting out an interval with acknowledgements held (tests observe it). */
    private volatile boolean waitingForInterval;
    private final Consumer<String> onFailure;
    private final ExecutorService thread;
    private final AtomicLong newest = new AtomicLong(-1);
    private final AtomicBoolean scheduled = new AtomicBoolean();
    /** The session whose acknowledgements are recorded (guarded by this). */
    private long session;

    /** A recorder whose writes are {@code -Dtapline.ship.cursorWriteMillis} apart (see the class). */
    AckRecorder(String volumeId, CursorWriter writer, Consumer<String> onFailure) {
        this(volumeId, writer, onFailure, TimeUnit.MILLISECONDS.toNanos(
                io.tapline.log.BoundedProperty.read(PROPERTY, DEFAULT_INTERVAL_MILLIS, MAX_INTERVAL_MILLIS, "milliseconds")));
    }

    AckRecorder(String volumeId, CursorWriter writer, Consumer<String> onFailure, long minIntervalNanos) {
        if (minIntervalNanos < 0) {
            throw new IllegalArgumentException("minIntervalNanos: " + minIntervalNanos + " (expected: >= 0)");
        }
        this.minIntervalNanos = minIntervalNanos;
        this.lastWriteNanos = System.nanoTime() - minIntervalNanos;
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
        waitForInterval(); // acknowledgements meanwhile only raise newest: still scheduled
        scheduled.set(false); // then: an acknowledgement after the read below schedules another run
        long sequence = newest.getAndSet(-1);
        if (sequence < 0) {
            return;
        }
        try {
            writer.acknowledge(sequence);
        } catch (IOException | RuntimeException e) {
            onFailure.accept("recording ACK of seq " + sequence + " in the capture buffer: " + e);
        }
        lastWriteNanos = System.nanoTime();
    }

    /** Until {@link #minIntervalNanos} after the last write, unless a session start or close is waiting. */
    private void waitForInterval() {
        synchronized (timer) {
            long left;
            while (!urgent && (left = lastWriteNanos + minIntervalNanos - System.nanoTime()) > 0) {
                waitingForInterval = true;
                try {
                    TimeUnit.NANOSECONDS.timedWait(timer, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                } finally {
                    waitingForInterval = false;
                }
            }
        }
    }

    /** Whether acknowledgements are being held until the current interval ends. */
    boolean waitingForInterval() {
        return waitingForInterval;
    }

    private void setUrgent(boolean value) {
        synchronized (timer) {
            urgent = value;
            timer.notifyAll();
        }
    }

    /** Waits until every acknowledgement passed to {@link #acked} so far is written (or failed). */
    private void drain() throws IOException {
        setUrgent(true); // a run waiting for its interval writes now
        try {
            thread.submit(this::record).get(); // runs after any run already queued
        } catch (ExecutionException e) {
            throw new IOException("recording ACKs: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted recording ACKs");
        } finally {
            setUrgent(false);
        }
    }

    @Override
    public void close() {
        setUrgent(true); // what was acknowledged is written now, not after an interval
        thread.shutdown();
        try {
            thread.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
