package io.tapline.log.undo;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Reads the undo records above a target newest first on a thread of its own, up to
 * {@link #AHEAD_BYTES} ahead of the rollback that applies them, so that reading the log overlaps
 * writing and syncing the replica. Undo segments are appended with O_DIRECT (not in the page
 * cache) and read backwards (no kernel readahead): read on the applying thread, every 4 MiB window
 * waited for the disk while the replica's writeback waited for the reads (docs/benchmarks.md).
 *
 * <p>Yields records in exactly the order of a loop over {@code segments} newest first, each from
 * its newest record down to the first at or below the target. The caller must not append to or
 * flush the segments while it runs; it may truncate them behind the records it was handed (the
 * reader only reads below them) and close segments it has finished. {@link #close} stops the
 * reader and waits for it, so no read is in flight once it returns.
 */
final class UndoReadAhead implements AutoCloseable {
    /** Record bytes read but not yet taken: one rollback progress point. */
    static final long AHEAD_BYTES = 32L << 20;

    private final List<UndoSegment> segments;
    private final int[] counts;
    private final long[] ends;
    private final long target;
    private final Thread thread;
    /** Whether {@link #next} started the reader (only the caller's thread reads and writes it). */
    private boolean started;
    private final ArrayDeque<UndoRecord> ready = new ArrayDeque<>();
    private long readyBytes;
    private boolean finished;
    private boolean stopped;
    private Throwable failure;

    private UndoReadAhead(List<UndoSegment> segments, long target, String name) throws IOException {
        this.segments = List.copyOf(segments);
        this.target = target;
        this.counts = new int[this.segments.size()];
        this.ends = new long[this.segments.size()];
        for (int si = 0; si < ends.length; si++) {
            UndoSegment s = this.segments.get(si);
            s.flushPending(); // the reader sees the file, not the writer's buffer
            // Taken here: the caller truncates segments behind the reader, which must not see it.
            counts[si] = s.count();
            ends[si] = s.sizeBytes();
        }
        this.thread = new Thread(this::readAll, name);
        thread.setDaemon(true);
    }

    /**
     * A reader of the records of {@code segments} (oldest first, as the log holds them) above
     * {@code target}. Its thread starts at the first {@link #next}: a rollback with nothing to
     * undo (the recovery check at every open) costs no thread and no read buffer.
     */
    static UndoReadAhead open(List<UndoSegment> segments, long target, String name) throws IOException {
        return new UndoReadAhead(segments, target, name);
    }

    /**
     * The next record, newest first; waits for the reader.
     *
     * @throws UndoFormatException when the record is damaged (as {@link UndoSegment#read} reports it)
     * @throws IllegalStateException when every record was taken already
     */
    UndoRecord next() throws IOException {
        if (!started) {
            started = true;
            thread.start();
        }
        synchronized (this) {
            try {
                while (ready.isEmpty() && !finished) {
                    wait();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for the undo log's reader");
            }
            if (!ready.isEmpty()) {
                UndoRecord r = ready.removeFirst();
                readyBytes -= r.data().length;
                notifyAll();
                return r;
            }
            if (failure instanceof IOException io) {
                throw io;
            }
            if (failure != null) {
                throw new IllegalStateException("undo log reader failed", failure);
            }
            throw new IllegalStateException("no undo record is left above sequence " + target);
        }
    }

    private void readAll() {
        Throwable failed = null;
        try (UndoReadWindow window = new UndoReadWindow()) {
            outer:
            for (int si = segments.size() - 1; si >= 0; si--) {
                UndoSegment s = segments.get(si);
                long end = ends[si];
                int i = counts[si] - 1;
                for (; i >= 0 && s.sequenceAt(i) > target; i--) {
                    if (!offer(s.read(i, end, window))) {
                        break outer;
                    }
                    end = s.positionOf(i); // where the record before it ends
                }
                if (i >= 0) {
                    break; // the target lies in this segment: older ones are not read (as in the apply loop)
                }
            }
        } catch (Throwable t) {
            failed = t;
        }
        synchronized (this) {
            failure = failed;
            finished = true;
            notifyAll();
        }
    }

    /** Hands over one record, waiting while the caller is {@link #AHEAD_BYTES} behind; false once stopped. */
    private synchronized boolean offer(UndoRecord r) throws InterruptedException {
        while (!stopped && readyBytes >= AHEAD_BYTES) {
            wait();
        }
        if (stopped) {
            return false;
        }
        ready.addLast(r);
        readyBytes += r.data().length;
        notifyAll();
        return true;
    }

    /**
     * Stops the reader and waits for it (at most one window's read): never interrupted, as an
     * interrupt would close the segment's channel under the log.
     */
    @Override
    public void close() {
        synchronized (this) {
            stopped = true;
            ready.clear();
            readyBytes = 0;
            notifyAll();
        }
        if (!started) {
            return; // nothing was read
        }
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
