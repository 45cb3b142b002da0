package io.tapline.wedge.capture;

import io.tapline.log.volume.BlockVolume;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit for FUA writes and FLUSH: takes every command waiting at that moment, runs one
 * {@code sink.sync()} and one {@code primary.force()}, then completes them all. Commands are
 * added only after they were applied to both, so the sync pair covers them (and everything
 * applied before them). One thread per volume.
 *
 * <p>A failed sync fails the volume for good ({@link VolumeFailure}): the waiters and every later
 * FUA write and FLUSH get {@link WriteOutcome#IO_ERROR} without another fsync being tried (a
 * retried fsync may succeed although the kernel dropped the data), the sink is told so that the
 * capture buffer does not claim a clean shutdown, and one ERROR line says why.
 */
final class GroupCommitFlusher {
    private static final Logger log = LoggerFactory.getLogger(GroupCommitFlusher.class);
    private static final int MAX_BATCH = 4096;
    /**
     * How often an idle flusher asks the sink whether it wants a durable point of its own
     * ({@link CaptureSink#wantsDurablePoint}; {@code tapline.wedge.durablePointMillis}).
     */
    static final long DURABLE_POINT_MILLIS = Long.getLong("tapline.wedge.durablePointMillis", 5000);

    private final String volumeName;
    private final BlockVolume primary;
    private final CaptureSink sink;
    private final BlockingQueue<Queued> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    /** Queued by {@link #close}; never interrupt this thread: an interrupt would close the FileChannel. */
    private static final Queued STOP = new Queued(new WriteCommand(io.tapline.log.RecordKind.FLUSH, 0, 0, 0,
            io.tapline.log.Provenance.INTERNAL, null, new CompletionListener() {
                @Override
                public void onComplete(WriteCommand command, WriteOutcome outcome, long sequence) {
                    // The stop marker is never completed.
                }

                @Override
                public void onBatchEnd() {
                    // Nothing to flush for the stop marker.
                }
            }), 0);

    /** A command waiting for the group commit, with the sequence its record was assigned. */
    private record Queued(WriteCommand command, long sequence) {
    }
    private final VolumeFailure failure;
    /** The sequence of the last command applied to the primary (every earlier one was applied before it). */
    private final LongSupplier appliedThrough;

    GroupCommitFlusher(String volumeName, BlockVolume primary, CaptureSink sink, VolumeFailure failure,
            LongSupplier appliedThrough) {
        this.volumeName = volumeName;
        this.primary = primary;
        this.sink = sink;
        this.failure = failure;
        this.appliedThrough = appliedThrough;
        this.thread = new Thread(this::run, "wedge-flush-" + volumeName);
    }

    void start() {
        thread.start();
    }

    /** Queues an applied command that must be durable before it is completed, with its record's sequence. */
    void add(WriteCommand command, long sequence) {
        queue.add(new Queued(command, sequence));
    }

    /** Completes every queued command (one last group commit) and stops the thread. */
    void close() {
        queue.add(STOP);
        VolumeSequencer.joinUninterruptibly(thread);
    }

    private void run() {
        List<Queued> batch = new ArrayList<>();
        Set<CompletionListener> touched = Collections.newSetFromMap(new IdentityHashMap<>());
        boolean stop = false;
        while (!stop) {
            batch.clear();
            takeUninterruptibly(batch);
            queue.drainTo(batch, MAX_BATCH);
            stop = batch.remove(STOP);
            if (batch.isEmpty()) {
                continue;
            }
            WriteOutcome outcome = syncBoth();
            if (outcome == WriteOutcome.OK) {
                long through = 0;
                for (Queued q : batch) {
                    through = Math.max(through, q.sequence());
                }
                sink.confirmDurable(through); // every command up to it was applied before the sync pair
            }
            for (Queued q : batch) {
                q.command().listener().onComplete(q.command(), outcome, q.sequence());
                touched.add(q.command().listener());
            }
            for (CompletionListener l : touched) {
                l.onBatchEnd();
            }
            touched.clear();
        }
    }

    private void takeUninterruptibly(List<Queued> batch) {
        while (batch.isEmpty()) {
            try {
                Queued q = queue.poll(DURABLE_POINT_MILLIS, TimeUnit.MILLISECONDS);
                if (q != null) {
                    batch.add(q);
                } else if (sink.wantsDurablePoint() && !failure.failed()) {
                    durablePoint();
                }
            } catch (InterruptedException e) {
                // This thread is ours and stops only through close(): an interrupt must not
                // strand queued commands (re-asserting it would make take() spin), so it is dropped.
                Thread.interrupted();
            }
        }
    }

    /**
     * A durable point no host command asked for: a host that never flushes keeps every extent it
     * writes hot, so after a while the sync pair the kernel would run anyway (writeback) is run
     * here, and everything applied before it is confirmed. A failure fails the volume as always.
     */
    private void durablePoint() {
        long through = appliedThrough.getAsLong();
        if (syncBoth() == WriteOutcome.OK) {
            sink.confirmDurable(through);
            log.debug("durable point without a FLUSH volume={} through={}", volumeName, through);
        }
    }

    private WriteOutcome syncBoth() {
        if (failure.failed()) {
            return WriteOutcome.IO_ERROR;
        }
        String what = "capture buffer sync failed";
        try {
            sink.sync();
            what = "primary fsync failed";
            primary.force();
            return WriteOutcome.OK;
        } catch (IOException | RuntimeException e) {
            String reason = what + ": " + e.getMessage();
            if (failure.fail(reason)) {
                log.error("volume failed, data at risk: {} (every later FLUSH, FUA write and write gets EIO until the"
                        + " wedge is restarted; the restart tracks the activity log's extents, or every chunk, and a resync heals the replica)"
                        + " volume={}", reason, volumeName, e);
            }
            sink.fail(reason);
            return WriteOutcome.IO_ERROR;
        }
    }
}
