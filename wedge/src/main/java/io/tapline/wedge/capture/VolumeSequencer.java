package io.tapline.wedge.capture;

import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordKind;
import io.tapline.log.volume.BlockVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-volume sequencer: every write-nature command of every connection to one export goes
 * through it, so that the primary volume and the capture buffer see the same commands in the
 * same order.
 *
 * <h2>Ordering and durability contract</h2>
 * <ol>
 *   <li><b>One order.</b> Commands are ordered by {@link #submit} (a FIFO shared by all
 *       connections). The capture thread appends each to the {@link CaptureSink} in that order,
 *       which assigns the record sequence; the apply thread then applies each to the primary
 *       {@link BlockVolume} in the same order. Overlapping in-flight writes therefore land on
 *       both in sequence order, and a replica replaying the records in sequence ends up
 *       byte-identical to the primary. An inline run ({@link #submitAll}) captures and applies
 *       on the submitting thread only while nothing earlier is unapplied, and holds the capture
 *       lock from its capture to its last apply, so the one order holds across both paths.</li>
 *   <li><b>Capture before primary.</b> A command reaches the primary only after its record was
 *       appended (and, with the capture buffer's activity log, after its extents were made hot:
 *       {@link CaptureSink#prepare} on this thread, or by the append itself). If the append throws, the primary is left untouched and the host gets EIO; an
 *       ERROR is logged once per failure episode. A full sink ({@code append} returns null)
 *       never fails or delays the host: the write is applied and the sink remembers the range.
 *       If the primary write fails after the record was appended, the host gets EIO and a GAP
 *       record over the range tells the replica that the range is unknown until resync.</li>
 *   <li><b>Reply after both.</b> A plain write is completed once it is in both (page cache).
 *       A FUA write or a FLUSH is completed only after the {@link GroupCommitFlusher} has run
 *       {@code sink.sync()} and {@code primary.force()} <i>after</i> the command was applied;
 *       one sync serves every command waiting at that moment.</li>
 *   <li><b>A failed fsync fails the volume.</b> If {@code sink.sync()} or {@code primary.force()}
 *       fails, the volume fails until the wedge restarts ({@link VolumeFailure}): the waiting
 *       commands and every later command get EIO, nothing more is captured or applied, and a
 *       sync is never retried (Linux may have dropped the dirty pages, so a retry could report
 *       success for data that is gone). The restart finds no clean-shutdown marker in the
 *       capture buffer, tracks the activity log's extents (every chunk without one), and a resync heals the replica.</li>
 *   <li><b>FLUSH covers all connections.</b> A write is replied only after it was applied, so
 *       every write replied before a FLUSH was received is ahead of the FLUSH in the FIFO and
 *       is covered by the sync that the FLUSH waits for, whichever connection sent it. That is
 *       why the wedge advertises NBD_FLAG_CAN_MULTI_CONN.</li>
 * </ol>
 *
 * <h2>Worked example</h2>
 * <pre>
 * conn A: WRITE  off=0    len=4096 "aaaa"   submitted 1st
 * conn B: WRITE  off=2048 len=4096 "bbbb"   submitted 2nd (overlaps A at [2048, 4096))
 * conn A: WRITE  off=8192 len=512  FUA      submitted 3rd
 * conn B: FLUSH                             submitted 4th, after B saw its reply to #2
 *
 * capture thread:  seq 41 WRITE 0+4096, seq 42 WRITE 2048+4096, seq 43 WRITE 8192+512 FUA, seq 44 FLUSH
 * apply thread:    pwrite #1, reply A; pwrite #2, reply B; pwrite #3 -> flusher; #4 -> flusher
 * flusher:         sink.sync(); primary.force(); reply A (#3) and B (#4) after one sync pair
 *
 * [2048, 4096) holds "bbbb" on the primary and on a replica that applied 41, 42 in order.
 * If the capture append of #2 had thrown: no record 42, the primary keeps "aaaa" there, B gets
 * EIO, an ERROR is logged; #3 and #4 continue normally.
 * </pre>
 *
 * <p>Threads: {@link #submit} from any thread (event loops); one capture thread, one apply
 * thread and one flusher thread per volume; listeners are called on the apply or flusher thread,
 * or on the submitting thread for an inline run ({@link #submitAll}). An event loop does file
 * I/O only in an inline run: one buffer append and the primary writes, at most
 * {@link #INLINE_MAX_BYTES} in all; fsyncs never run there.
 */
public final class VolumeSequencer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(VolumeSequencer.class);
    private static final int MAX_BATCH = 256;
    /**
     * Runs of small commands up to this many payload bytes run on the submitting thread when the
     * sequencer is idle ({@link #submitAll}); 0 turns that off ({@code tapline.wedge.inlineMaxBytes}).
     */
    static final long INLINE_MAX_BYTES = Long.getLong("tapline.wedge.inlineMaxBytes", 128 << 10);
    private static final Pending POISON = new Pending(null);

    private final String volumeName;
    private final BlockVolume primary;
    private final CaptureSink sink;
    private final BlockingQueue<Pending> captureQueue = new LinkedBlockingQueue<>();
    private final BlockingQueue<Pending> applyQueue = new LinkedBlockingQueue<>();
    private final GroupCommitFlusher flusher;
    private final VolumeFailure failure = new VolumeFailure();
    /**
     * Data commands begun and finished on the primary (apply thread or an inline run): between
     * two equal, idle readings no write of the wedge's own changed the primary ({@link #primaryWrites}).
     */
    private final java.util.concurrent.atomic.AtomicLong primaryWritesBegun = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong primaryWritesEnded = new java.util.concurrent.atomic.AtomicLong();
    /** The sequence of the last command applied to the primary, in sequence order (apply thread or an inline run). */
    private final java.util.concurrent.atomic.AtomicLong appliedThrough = new java.util.concurrent.atomic.AtomicLong();
    private final Thread captureThread;
    private final Thread applyThread;
    private final Object submitLock = new Object();
    /**
     * Held while commands are captured (capture thread, or an inline run) and around quiescent
     * actions: one capture at a time, so sequences follow one order.
     */
    private final ReentrantLock captureLock = new ReentrantLock();
    /** Commands and actions submitted and not yet applied or run (guarded by submitLock). */
    private long unfinished;
    private boolean closed;
    // Failure-episode state, log once per episode, not per write. Capture side: the capture thread
    // or an inline run, under captureLock; apply side: the apply thread or an inline run, which
    // starts only when the apply thread has nothing left (unfinished == 0).
    private boolean captureFailing;
    private long captureFailures;
    private boolean sinkFull;
    private boolean primaryFailing;

    private VolumeSequencer(String volumeName, BlockVolume primary, CaptureSink sink) {
        this.volumeName = volumeName;
        this.primary = primary;
        this.sink = sink;
        this.flusher = new GroupCommitFlusher(volumeName, primary, sink, failure, appliedThrough::get);
        this.captureThread = new Thread(this::captureLoop, "wedge-capture-" + volumeName);
        this.applyThread = new Thread(this::applyLoop, "wedge-apply-" + volumeName);
    }

    /** Starts the sequencer threads of one volume. The caller keeps ownership of both {@code primary} and {@code sink}. */
    public static VolumeSequencer start(String volumeName, BlockVolume primary, CaptureSink sink) {
        VolumeSequencer s = new VolumeSequencer(Objects.requireNonNull(volumeName, "volumeName"),
                Objects.requireNonNull(primary, "primary"), Objects.requireNonNull(sink, "sink"));
        s.flusher.start();
        s.captureThread.start();
        s.applyThread.start();
        return s;
    }

    /**
     * Queues a command behind every command submitted before it. Never blocks on I/O. After
     * {@link #close} the command completes at once with {@link WriteOutcome#SHUT_DOWN}.
     */
    public void submit(WriteCommand command) {
        Objects.requireNonNull(command, "command");
        synchronized (submitLock) {
            if (!closed) {
                unfinished++;
                captureQueue.add(new Pending(command));
                return;
            }
        }
        command.listener().onComplete(command, WriteOutcome.SHUT_DOWN, 0);
        command.listener().onBatchEnd();
    }

    /**
     * Queues commands as {@link #submit} does one by one, or, when nothing submitted earlier is
     * still on its way and the commands are small (at most {@link #INLINE_MAX_BYTES} of payload
     * in all), captures and applies them on the calling thread at once: the same order, the same
     * outcomes and listener calls, without the hand-offs to the capture and apply threads, which
     * cost more than the work itself for 4 KiB writes (docs/benchmarks.md#p3-inline). Only what
     * the sink stores with one write runs inline ({@link CaptureSink#appendAll}: page cache, or
     * O_DIRECT for a record of 64 KiB or more); the rest (a segment roll, which fsyncs, FULL, an
     * error) is queued behind it, a run that reaches an extent the activity log does not hold hot
     * is queued whole, and commands that need durability still wait for the flusher, so the
     * calling thread never fsyncs.
     */
    public void submitAll(List<WriteCommand> commands) {
        int inline = runInline(commands);
        for (int i = inline; i < commands.size(); i++) {
            submit(commands.get(i));
        }
    }

    /** Captures and applies the head of {@code commands} here and now if it can; how many it took. */
    private int runInline(List<WriteCommand> commands) {
        long bytes = 0;
        for (WriteCommand c : commands) {
            bytes += c.payload().length;
        }
        if (commands.isEmpty() || bytes > INLINE_MAX_BYTES || !captureLock.tryLock()) {
            return 0;
        }
        try {
            synchronized (submitLock) {
                if (closed || unfinished != 0 || failure.failed()) {
                    return 0; // earlier commands are still on their way: these go behind them
                }
            }
            List<CaptureRecord> stored;
            try {
                stored = sink.appendAll(commands);
            } catch (IOException | RuntimeException e) {
                return 0; // queued instead, where a failure is logged and answered per command
            }
            Set<CompletionListener> touched = Collections.newSetFromMap(new IdentityHashMap<>());
            for (int i = 0; i < stored.size(); i++) {
                Pending p = new Pending(commands.get(i));
                p.sequence = stored.get(i).sequence();
                noteCaptured(true, p.command);
                applyAndComplete(p, touched);
            }
            endBatch(touched);
            return stored.size();
        } finally {
            captureLock.unlock();
        }
    }

    /**
     * Why the volume failed for good (a failed fsync of the primary or the capture buffer), or
     * empty while it has not: once failed, every command gets {@link WriteOutcome#IO_ERROR}
     * until the wedge is restarted ({@link VolumeFailure}).
     */
    public String failure() {
        return failure.reason();
    }

    /** Work that runs at a quiescent point of the sequence ({@link #atQuiescentPoint}). */
    @FunctionalInterface
    public interface QuiescentAction<T> {
        T run() throws IOException;
    }

    /**
     * Runs {@code action} on the capture thread at a point of the one order where every command
     * submitted before it has been captured <i>and applied to the primary</i>, and no command
     * submitted after it has been captured yet. Records the action appends to the sink are
     * therefore ordered exactly there, and what it reads from the primary is the primary's
     * content at that point of the sequence: a resync reads a chunk and appends it as a WRITE
     * without racing the host's writes. The host's writes wait meanwhile: keep actions short.
     *
     * @throws IOException when the action fails or the sequencer is closed
     */
    public <T> T atQuiescentPoint(QuiescentAction<T> action) throws IOException, InterruptedException {
        Objects.requireNonNull(action, "action");
        java.util.concurrent.CompletableFuture<T> done = new java.util.concurrent.CompletableFuture<>();
        Pending p = new Pending(null);
        p.quiescent = () -> {
            try {
                done.complete(action.run());
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(e);
            }
        };
        synchronized (submitLock) {
            if (closed) {
                throw new IOException("sequencer closed volume=" + volumeName);
            }
            unfinished++;
            captureQueue.add(p);
        }
        try {
            return done.get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getCause().toString(), e.getCause());
        }
    }

    /**
     * Stops taking commands, completes every queued one, then makes the sink and the primary
     * durable ({@code sync}, {@code force}). Does not close the sink or the primary.
     */
    @Override
    public void close() throws IOException {
        synchronized (submitLock) {
            if (closed) {
                return;
            }
            closed = true;
            captureQueue.add(POISON);
        }
        joinUninterruptibly(captureThread);
        joinUninterruptibly(applyThread);
        flusher.close();
        if (failure.failed()) {
            // No retried fsync (it could falsely succeed); the sink was told, so no clean shutdown is claimed.
            log.warn("sequencer closed after the volume failed volume={} reason={}", volumeName, failure.reason());
            return;
        }
        String what = "capture buffer sync failed at close";
        try {
            sink.sync();
            what = "primary fsync failed at close";
            primary.force();
        } catch (IOException | RuntimeException e) {
            failure.fail(what + ": " + e.getMessage());
            sink.fail(failure.reason()); // the last sync failed too: no clean shutdown may be claimed
            throw e;
        }
        log.info("sequencer closed volume={} captureFailures={}", volumeName, captureFailures);
    }

    private void captureLoop() {
        List<Pending> batch = new ArrayList<>(MAX_BATCH);
        List<Pending> handoff = new ArrayList<>(MAX_BATCH);
        while (true) {
            takeBatch(captureQueue, batch);
            handoff.clear();
            captureLock.lock();
            try {
                for (Pending p : batch) {
                    if (p.quiescent != null) {
                        captureAll(handoff);
                        applyQueue.addAll(handoff);
                        handoff.clear();
                        awaitApplied();
                        p.quiescent.run();
                        finished(1);
                        continue;
                    }
                    handoff.add(p);
                }
                captureAll(handoff);
                applyQueue.addAll(handoff);
            } finally {
                captureLock.unlock();
            }
            if (batch.get(batch.size() - 1) == POISON) {
                return;
            }
        }
    }

    /** Capture thread: waits until the apply thread has applied everything handed to it so far. */
    private void awaitApplied() {
        java.util.concurrent.CountDownLatch applied = new java.util.concurrent.CountDownLatch(1);
        Pending marker = new Pending(null);
        marker.applied = applied;
        applyQueue.add(marker);
        boolean interrupted = false;
        while (true) {
            try {
                applied.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.interrupted(); // as in takeBatch: only close() stops this thread
        }
    }

    private void applyLoop() {
        List<Pending> batch = new ArrayList<>(MAX_BATCH);
        Set<CompletionListener> touched = Collections.newSetFromMap(new IdentityHashMap<>());
        while (true) {
            takeBatch(applyQueue, batch);
            int applied = 0;
            for (Pending p : batch) {
                if (p == POISON) {
                    endBatch(touched);
                    return;
                }
                if (p.applied != null) {
                    p.applied.countDown();
                    continue;
                }
                applyAndComplete(p, touched);
                applied++;
            }
            finished(applied); // before the replies go out: the host's next writes may then run inline
            endBatch(touched);
        }
    }

    /** Applies a captured command to the primary and completes it, or hands it to the flusher. */
    private void applyAndComplete(Pending p, Set<CompletionListener> touched) {
        apply(p);
        if (p.sequence > 0) {
            appliedThrough.set(p.sequence);
        }
        if (p.outcome == WriteOutcome.OK && p.command.needsDurability()) {
            flusher.add(p.command, p.sequence);
        } else {
            p.command.listener().onComplete(p.command, p.outcome, p.sequence);
            touched.add(p.command.listener());
        }
    }

    private void finished(int count) {
        synchronized (submitLock) {
            unfinished -= count;
        }
    }

    /**
     * Captures a run of commands in order, as many as the sink takes with one write at a time
     * ({@link CaptureSink#appendAll}), the others one by one: the command after a stored batch
     * (a segment roll) goes through {@link #capture} alone and batching resumes after it; once
     * the sink stores no batch (FULL, paused, an error) the rest of the run goes one by one.
     */
    private void captureAll(List<Pending> run) {
        int end = run.size();
        if (end > 0 && run.get(end - 1) == POISON) {
            end--;
        }
        int i = 0;
        boolean batching = true; // until the sink takes no batch: then it is FULL, paused or failing
        while (i < end) {
            if (batching && end - i > 1 && !failure.failed()) {
                List<CaptureRecord> stored = appendBatch(run.subList(i, end));
                batching = !stored.isEmpty();
                for (CaptureRecord record : stored) {
                    Pending p = run.get(i++);
                    p.sequence = record.sequence();
                    noteCaptured(true, p.command);
                }
            }
            if (i < end) {
                capture(run.get(i++));
            }
        }
    }

    /** The records the sink stored with one write for the head of {@code run}; none on any failure. */
    private List<CaptureRecord> appendBatch(List<Pending> run) {
        List<WriteCommand> commands = new ArrayList<>(run.size());
        for (Pending p : run) {
            commands.add(p.command);
        }
        try {
            sink.prepare(commands); // this is the capture thread: it may fsync (an activity log transaction)
            return sink.appendAll(commands);
        } catch (IOException | RuntimeException e) {
            return List.of(); // appended one by one instead, where a failure is logged and answered per command
        }
    }

    private void capture(Pending p) {
        WriteCommand c = p.command;
        if (failure.failed()) {
            // A failed fsync failed the volume: nothing more is captured or applied (the host gets EIO).
            p.outcome = WriteOutcome.IO_ERROR;
            return;
        }
        try {
            CaptureRecord record = sink.append(c.kind(), c.offsetBytes(), c.lengthBytes(), c.flags(),
                    c.provenance(), c.payload());
            p.sequence = record == null ? 0 : record.sequence();
            noteCaptured(record != null, c);
        } catch (IOException | RuntimeException e) {
            captureFailures++;
            p.outcome = WriteOutcome.IO_ERROR;
            if (!captureFailing) {
                captureFailing = true;
                log.error("capture append failed, data at risk: the host gets EIO and the primary is not changed"
                        + " until appends succeed again volume={} kind={} offset={} length={} conn={}",
                        volumeName, c.kind(), c.offsetBytes(), c.lengthBytes(), c.provenance().initiator(), e);
            } else {
                log.debug("capture append failed again volume={} offset={} failures={}", volumeName,
                        c.offsetBytes(), captureFailures, e);
            }
        }
    }

    private void noteCaptured(boolean stored, WriteCommand c) {
        if (captureFailing) {
            captureFailing = false;
            log.info("capture appends succeed again volume={} failuresSoFar={}", volumeName, captureFailures);
        }
        if (!stored && !sinkFull) {
            sinkFull = true;
            log.warn("capture buffer full: writes go on to the primary uncaptured, their ranges are remembered"
                    + " as lost volume={} offset={}", volumeName, c.offsetBytes());
        } else if (stored && sinkFull) {
            sinkFull = false;
            log.info("capture buffer stores records again volume={}", volumeName);
        }
    }

    private void apply(Pending p) {
        if (p.outcome != null) {
            return;
        }
        WriteCommand c = p.command;
        boolean changesData = c.kind().changesData();
        if (changesData) {
            primaryWritesBegun.incrementAndGet();
        }
        try {
            switch (c.kind()) {
                case WRITE -> primary.write(c.offsetBytes(), ByteBuffer.wrap(c.payload()));
                case WRITE_ZEROES -> primary.zero(c.offsetBytes(), c.lengthBytes(),
                        (c.flags() & CaptureRecord.FLAG_NO_HOLE) == 0);
                case DISCARD -> primary.zero(c.offsetBytes(), c.lengthBytes(), true);
                default -> {
                    // FLUSH and MARK change no data; their durability is the flusher's job.
                }
            }
            p.outcome = WriteOutcome.OK;
            if (primaryFailing) {
                primaryFailing = false;
                log.info("primary writes succeed again volume={}", volumeName);
            }
        } catch (IOException | RuntimeException e) {
            boolean noSpace = io.tapline.log.DurableFiles.noSpace(e);
            p.outcome = noSpace ? WriteOutcome.NO_SPACE : WriteOutcome.IO_ERROR;
            if (!primaryFailing) {
                primaryFailing = true;
                if (noSpace) {
                    log.error("primary write failed, its file system is full: the host gets ENOSPC volume={} kind={}"
                            + " offset={} length={} conn={}: {}", volumeName, c.kind(), c.offsetBytes(),
                            c.lengthBytes(), c.provenance().initiator(), e.getMessage());
                } else {
                    log.error("primary write failed: the host gets EIO volume={} kind={} offset={} length={} conn={}",
                            volumeName, c.kind(), c.offsetBytes(), c.lengthBytes(), c.provenance().initiator(), e);
                }
            }
            markGap(c, e);
        } finally {
            if (changesData) {
                primaryWritesEnded.incrementAndGet();
            }
        }
    }

    /**
     * How many of the wedge's own data writes to the primary have begun and ended so far. A watch
     * for other programs' writes reads it before and after it looks at the primary: when both
     * readings are equal and idle (begun == ended), nothing the wedge wrote can explain a change
     * it saw in between.
     */
    public PrimaryWrites primaryWrites() {
        long ended = primaryWritesEnded.get(); // first: a write ending between the two reads then looks busy
        return new PrimaryWrites(primaryWritesBegun.get(), ended);
    }

    /**
     * Counts of the wedge's own writes to the primary ({@link #primaryWrites}).
     *
     * @param begun writes, zeroes and discards handed to the primary so far
     * @param ended those of them that returned (or failed)
     */
    public record PrimaryWrites(long begun, long ended) {
        /** Whether none of the wedge's writes is in progress. */
        public boolean idle() {
            return begun == ended;
        }
    }

    /** The record of a command the primary failed to apply is already in the sink: tell the replica. */
    private void markGap(WriteCommand c, Exception cause) {
        byte[] reason = ("primary write failed: " + cause).getBytes(StandardCharsets.UTF_8);
        try {
            sink.append(RecordKind.GAP, c.offsetBytes(), c.lengthBytes(), 0, c.provenance(), reason);
        } catch (IOException | RuntimeException e) {
            log.error("could not record a GAP after a failed primary write, the replica may differ in this range"
                    + " until resync volume={} offset={} length={}", volumeName, c.offsetBytes(), c.lengthBytes(), e);
        }
    }

    private static void endBatch(Set<CompletionListener> touched) {
        for (CompletionListener l : touched) {
            l.onBatchEnd();
        }
        touched.clear();
    }

    private static void takeBatch(BlockingQueue<Pending> queue, List<Pending> batch) {
        batch.clear();
        while (batch.isEmpty()) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                // This thread is ours and stops only through close(): an interrupt must not
                // strand queued commands (re-asserting it would make take() spin), so it is dropped.
                Thread.interrupted();
            }
        }
        queue.drainTo(batch, MAX_BATCH - 1);
    }

    static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** A command on its way through the two stages; {@code outcome} is set by whichever stage decides it. */
    private static final class Pending {
        final WriteCommand command;
        WriteOutcome outcome;
        /** The sequence the capture sink assigned, 0 when it stored nothing (capture thread). */
        long sequence;
        /** Set for {@link #atQuiescentPoint} work (capture thread). */
        Runnable quiescent;
        /** Set for the marker the capture thread waits on (apply thread counts it down). */
        java.util.concurrent.CountDownLatch applied;

        Pending(WriteCommand command) {
            this.command = command;
        }
    }
}
