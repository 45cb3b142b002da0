package io.tapline.journey.resync;

import io.tapline.journey.control.ReplicaStateReport;
import io.tapline.journey.control.VerifyReport;
import io.tapline.journey.shipper.ResyncCoordinator;
import io.tapline.journey.shipper.Shipper;
import io.tapline.log.RecordKind;
import io.tapline.log.ResyncEpoch;
import io.tapline.log.buffer.BufferMode;
import io.tapline.log.buffer.CaptureBuffer;
import io.tapline.log.buffer.ChangedChunks;
import java.io.Closeable;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings a volume's replicas back in step by checksum, automatically: after the buffer tracked
 * changed chunks (FULL, a storage error, a GAP), when a replica reports it is out of sync, when a
 * replica cannot continue from its sequence (a rollback older than the buffer), or on request.
 *
 * <h2>Contract: a resync epoch</h2>
 * <ol>
 *   <li>RESYNC_BEGIN (id, scope) is appended at a quiescent point and made durable. Replicas
 *       that apply it are <i>resyncing</i>: inconsistent, but every byte the epoch writes goes
 *       through their undo log, so {@code rollback --to-last-consistent} returns to the image they
 *       had before it.</li>
 *   <li>Once every replica applied BEGIN, the changed-chunk set is drained (whole volume for a
 *       full epoch). Chunks are compared by xxHash64 with every replica ({@link ChunkComparator}),
 *       differing chunks again block by block, and only differing blocks are appended as WRITEs
 *       of the source's current bytes at quiescent points ({@link ResyncWriter}). Ordinary
 *       replication goes on in between: resync WRITEs are records like any other, in one order.</li>
 *   <li>RESYNC_END closes the epoch; a replica that was consistent at BEGIN or answered the
 *       epoch's hashes, and saw no GAP inside it, is consistent again.</li>
 * </ol>
 * Worked example: buffer FULL from seq 900, 120 writes tracked in 9 chunks; space returns, GAP
 * 1001 covers them; BEGIN 1002; the replica applies 1001 (out of sync) and 1002 (resyncing);
 * the 9 chunks are drained and compared, 3 x 4 KiB blocks differ and become WRITEs 1040..1042
 * between the host's writes; END 1050; the replica applies it and reports consistent at 1050.
 *
 * <p>An epoch that cannot finish (link loss, replayer restart) is abandoned; its replicas stay
 * <i>resyncing</i> with its id. The chunks it drained and had not compared (the rest of the volume
 * for a full one) go back into the tracked set, and the next epoch <i>resumes</i> it
 * ({@link ResyncEpoch#resumes()}): replicas still in it carry their state into the new one, which
 * compares what was still owed. After a source restart the id is stale and a full epoch follows:
 * nothing drained is forgotten either way.
 *
 * <h2>Copy epochs: links that cannot compare</h2>
 * A volume whose log goes to links that cannot be asked for hashes (Kafka's sites;
 * {@link ResyncConfig#copyChunks}) runs <i>copy</i> epochs ({@link ResyncEpoch#copy()}): every tracked chunk (every chunk, when full)
 * is sent whole, and the BEGIN names the sequence since which the chunks hold every write the
 * log did not carry, so each site decides by itself whether the copy heals it (consistent at or
 * after that sequence). The tracked set is not drained at BEGIN but emptied once the END is
 * durable ({@link ChangedChunks#snapshotForCopy}, {@link ChangedChunks#copied}): no site reports
 * a stale epoch here, so a copy cut short (a crash, a FULL) must leave its chunks for the next one.
 *
 * <h2>Cycle mode</h2>
 * With a {@link CycleVolume} ({@link #startCycles}) the host's writes never reach the capture
 * buffer: they go to the volume's active layer. Each epoch is a <i>cycle</i>: the volume is frozen
 * first, the epoch compares and sends the chunks the frozen cycle wrote (all of them, for a full
 * epoch) from the frozen image, and once every replica acknowledged RESYNC_END the frozen layer is
 * merged. A replica that applied the END holds the image as of the freeze, consistent; one that is
 * inside an epoch is resyncing, and {@code rollback --to-last-consistent} returns it to the last
 * cycle. A cycle starts {@code cycle} after the last freeze if the host wrote, on request, or when
 * a replica needs a full one; never before the previous copy completed. An epoch abandoned halfway
 * keeps its frozen image: the next one copies the same image again.
 *
 * <p>Threads: one engine thread per volume; {@link #status}, {@link #request} and the
 * {@link ResyncCoordinator} methods from any thread.
 */
public final class ResyncEngine implements Closeable, ResyncCoordinator {
    private static final Logger log = LoggerFactory.getLogger(ResyncEngine.class);
    private static final int MAX_CHUNKS_PER_REQUEST = 1024;

    private final String volumeId;
    private final CaptureBuffer buffer;
    private final List<Shipper> shippers;
    /** The shippers the running epoch compares with ({@link #participants}); the engine thread's. */
    private volatile List<Shipper> epochShippers;
    private final SourceVolume volume;
    /** Cycle mode's volume; null in journal mode. */
    private final CycleVolume cycles;
    private volatile java.time.Duration cycleLength = java.time.Duration.ofSeconds(30);
    /**
     * When the last cycle was frozen, by the monotonic clock: the schedule and the image's age must
     * not follow the wall clock's steps (probe Y D1: after a step back of S seconds no cycle froze
     * for S seconds, and the image age read 0).
     */
    private volatile long lastFreezeNanos = System.nanoTime();
    /** The cycle {@link #lastFreezeNanos} belongs to; 0 before the first one this run froze or took up. */
    private long frozenHere;
    /** When the last copied cycle was frozen, by the monotonic clock; 0 when none since start. */
    private volatile long lastCopiedFrozenNanos;
    private volatile long lastCopiedCycle;
    private volatile long lastCopiedAtMillis;
    private volatile long lastCopyMillis;
    private final AtomicLong cyclesCopied = new AtomicLong();
    /** The epoch of a cycle abandoned halfway, and whether it was full: its replicas may retry incrementally. */
    private volatile long abandonedCycleEpoch;
    private volatile boolean abandonedCycleFull;
    private volatile ChangedChunks.Snapshot cycleChunks;
    private volatile ResyncConfig config;
    private final Thread thread;
    private final CountDownLatch closing = new CountDownLatch(1);
    private final SecureRandom random = new SecureRandom();
    private final AtomicReference<String> fullRequested = new AtomicReference<>();
    private final AtomicReference<Request> requested = new AtomicReference<>();
    private volatile boolean closed;
    private volatile long activeEpoch;
    private volatile long lastEpoch;
    private volatile long lastFullBegin = -1;
    /**
     * A journal-mode epoch abandoned after its BEGIN whose uncompared chunks are back in the tracked
     * set: replicas still resyncing in it are resumed by the next epoch, not taken as stale (which
     * cost a whole-volume epoch after every lost link). 0 when none; cleared when the next epoch begins.
     */
    private volatile long abandonedEpoch;
    /** The running epoch's debt; the engine thread's. */
    private Owed owed;

    // Progress, written by the engine thread.
    private volatile String state = "idle";
    private volatile String detail = "";
    private volatile ResyncEpoch epoch;
    private final AtomicLong chunksTotal = new AtomicLong();
    private final AtomicLong chunksCompared = new AtomicLong();
    private final AtomicLong bytesCompared = new AtomicLong();
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicLong epochsCompleted = new AtomicLong();
    private volatile String lastResult = "";

    private record Request(boolean full, String reason) {
    }

    private record VerifyRequest(String actor, java.util.concurrent.CompletableFuture<VerifyReport> result) {
    }

    private final java.util.concurrent.ConcurrentLinkedQueue<VerifyRequest> verifies =
            new java.util.concurrent.ConcurrentLinkedQueue<>();

    /** What an epoch compares, why, and the abandoned epoch it resumes (0: none). */
    private record Scope(boolean full, String reason, long resumes) {
        Scope(boolean full, String reason) {
            this(full, reason, 0);
        }
    }

    /**
     * What the running journal-mode epoch still owes: the chunks it drained ({@code chunks}, every
     * chunk for a full epoch) from {@code fromBytes} on. Put back into the tracked set when the
     * epoch is abandoned, so that the next epoch resumes it instead of comparing the whole volume.
     */
    private record Owed(ChangedChunks.Snapshot chunks, long fromBytes) {
    }

    private ResyncEngine(String volumeId, CaptureBuffer buffer, List<Shipper> shippers, SourceVolume volume,
            CycleVolume cycles, ResyncConfig config) {
        this.volumeId = volumeId;
        this.buffer = buffer;
        this.shippers = List.copyOf(shippers);
        this.epochShippers = this.shippers;
        this.volume = volume;
        this.cycles = cycles;
        this.config = config;
        this.thread = new Thread(this::run, "tapline-resync-" + volumeId);
        this.thread.setDaemon(true);
    }

    /** Starts the engine of one volume and makes it the coordinator of its shippers. */
    public static ResyncEngine start(String volumeId, CaptureBuffer buffer, List<Shipper> shippers,
            SourceVolume volume, ResyncConfig config) {
        return begin(new ResyncEngine(volumeId, buffer, shippers, volume, null, config));
    }

    /**
     * Starts the engine of a volume in cycle mode (see the class comment): a cycle every
     * {@code cycle} while the host writes. The buffer carries only the cycles' epochs.
     */
    public static ResyncEngine startCycles(String volumeId, CaptureBuffer buffer, List<Shipper> shippers,
            CycleVolume volume, ResyncConfig config, java.time.Duration cycle) {
        ResyncEngine e = new ResyncEngine(volumeId, buffer, shippers, null, java.util.Objects.requireNonNull(volume),
                config);
        e.cycleLength(cycle);
        return begin(e);
    }

    private static ResyncEngine begin(ResyncEngine e) {
        for (Shipper s : e.shippers) {
            s.resyncCoordinator(e);
        }
        e.thread.start();
        return e;
    }

    /** Whether epochs copy their chunks whole instead of comparing them ({@link ResyncConfig#copyChunks}). */
    public boolean copiesChunks() {
        return config.copyChunks();
    }

    /** Changes the cycle length (cycle mode). */
    public void cycleLength(java.time.Duration cycle) {
        if (cycle.isNegative() || cycle.isZero()) {
            throw new IllegalArgumentException("cycle: " + cycle + " (expected: > 0)");
        }
        this.cycleLength = cycle;
    }

    /** Whether the volume is in cycle mode. */
    public boolean cycleMode() {
        return cycles != null;
    }

    /** Where the cycles stand; null in journal mode. */
    public CycleStatus cycleStatus() {
        if (cycles == null) {
            return null;
        }
        CycleVolume.Frozen f = cycles.pending();
        ChangedChunks.Snapshot chunks = cycleChunks;
        long toCopy = f == null ? 0 : Math.max(0, chunksTotal.get() - chunksCompared.get());
        if (f != null && (chunks == null || !state.equals("resyncing"))) {
            toCopy = -1; // frozen, not begun: counted when the epoch starts
        }
        long copiedNanos = lastCopiedFrozenNanos;
        return new CycleStatus(cycleLength.toSeconds(), cycles.activeCycle(), cycles.changedBlocks(),
                f == null ? 0 : f.cycle(), f == null ? 0 : f.frozenAtMillis(), toCopy, lastCopiedCycle,
                lastCopiedAtMillis, lastCopyMillis, cyclesCopied.get(),
                copiedNanos == 0 ? 0 : Math.max(1, (System.nanoTime() - copiedNanos) / 1_000_000));
    }

    /** Asks for a resync now: {@code full} compares the whole volume, else the tracked chunks (or all, if a replica needs it). */
    public void request(boolean full, String reason) {
        requested.set(new Request(full, reason));
        log.info("resync requested volume={} full={} reason={}", volumeId, full, reason);
    }

    /**
     * Queues an online verify (see {@link OnlineVerify}); it runs between resync epochs. When it
     * finds differing ranges they are reported to every replica (audited there; the replica is out
     * of sync) and added to the changed-chunk set, so the next resync epoch repairs them.
     */
    public java.util.concurrent.CompletableFuture<VerifyReport> verify(String actor) {
        VerifyRequest r = new VerifyRequest(actor, new java.util.concurrent.CompletableFuture<>());
        verifies.add(r);
        return r.result();
    }

    /** Changes the rate limit of comparisons (bytes of the source read per second, 0 = unlimited). */
    public void rate(long bytesPerSecond) {
        config = config.withRate(bytesPerSecond);
    }

    /** A snapshot of the engine's progress. */
    public ResyncStatus status() {
        ResyncEpoch e = epoch;
        return new ResyncStatus(state, detail, e == null ? "" : Long.toHexString(e.id()), e != null && e.full(),
                chunksTotal.get(), chunksCompared.get(), bytesCompared.get(), bytesSent.get(), epochsCompleted.get(),
                lastResult);
    }

    @Override
    public long fullResyncBegin(long notBefore) {
        long b = lastFullBegin;
        return b >= notBefore && b >= buffer.firstSequence() ? b : -1;
    }

    @Override
    public long unshippedChanges() {
        if (cycles != null) {
            return cycles.changedBlocks() + (cycles.pending() != null ? 1 : 0);
        }
        long tracked = buffer.changedChunks().count();
        return tracked < 0 ? 1 : tracked; // -1: the whole volume
    }

    @Override
    public void requestFull(String remoteId, String reason) {
        if (fullRequested.getAndSet(remoteId + ": " + reason) == null) {
            log.warn("full resync requested volume={} remote={} reason={}", volumeId, remoteId, reason);
        }
    }

    @Override
    public void close() {
        closed = true;
        closing.countDown();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        if (cycles == null) {
            resumeACutEpoch();
        }
        while (!closed) {
            try {
                VerifyRequest v = verifies.poll();
                if (v != null) {
                    runVerify(v);
                    continue;
                }
                Scope scope = decide();
                if (scope != null) {
                    runEpoch(scope);
                    pauseAfterFruitlessEpoch();
                    continue;
                }
            } catch (InterruptedException e) {
                return;
            } catch (IOException | RuntimeException e) {
                if (closed) {
                    return;
                }
                String why = e.getMessage() == null ? e.toString() : e.getMessage();
                log.warn("resync epoch abandoned volume={} epoch={} reason={}", volumeId,
                        epoch == null ? "-" : Long.toHexString(epoch.id()), why);
                lastResult = "abandoned: " + why;
                ResyncEpoch abandoned = epoch;
                if (cycles != null && abandoned != null && activeEpoch != 0) {
                    abandonedCycleEpoch = abandoned.id();
                    abandonedCycleFull = abandoned.full();
                } else if (cycles == null && abandoned != null && activeEpoch != 0 && !abandoned.copy()) {
                    putBackWhatItOwed(abandoned);
                }
                waiting("retrying after: " + why);
                activeEpoch = 0;
                sleep(config.poll().toMillis() * 10);
                continue;
            }
            sleep(config.poll().toMillis());
        }
    }

    /**
     * An epoch that found nothing to send yet leaves a replica that still needs one (a gap keeps
     * arriving: e.g. a tap that drops packets, its own read traffic included) would otherwise loop
     * at full speed, reading the whole volume again and again: wait 1 s, doubling up to 60 s,
     * until an epoch sends something or nothing needs one.
     */
    private void pauseAfterFruitlessEpoch() {
        if (bytesSent.get() > 0 || cycles != null) { // a cycle that sent nothing is still a cycle done
            fruitlessPauseMillis = 0;
            return;
        }
        fruitlessPauseMillis = Math.min(60_000, Math.max(1_000, fruitlessPauseMillis * 2));
        long until = System.nanoTime() + fruitlessPauseMillis * 1_000_000L;
        while (!closed && until - System.nanoTime() > 0 && requested.get() == null && fullRequested.get() == null) {
            sleep(Math.min(200, (until - System.nanoTime()) / 1_000_000 + 1));
        }
    }

    private long fruitlessPauseMillis;

    /**
     * At start: an epoch the source's last stop cut (a clean stop, a kill -9, a power cut) left its
     * uncompared chunks on disk ({@link ChangedChunks#drainOwed}); they go back into the tracked
     * set and the next epoch resumes it, as one abandoned while running does. When they cannot be
     * read, its replicas stay stale in it and a whole-volume epoch follows.
     */
    private void resumeACutEpoch() {
        ChangedChunks set = buffer.changedChunks();
        try {
            io.tapline.log.buffer.OwedChunks.Owed o = set.owedByACutEpoch();
            if (o == null) {
                return;
            }
            set.restore(o.chunks(), o.fromBytes(), volume.sizeBytes());
            abandonedEpoch = o.epochId();
            lastResult = "epoch " + Long.toHexString(o.epochId()) + " cut by the source's stop after comparing "
                    + o.fromBytes() + " bytes; the next epoch resumes it (" + set.describe() + " tracked)";
            log.info("resync epoch {} volume={} was cut by the source's stop after comparing {} bytes: the next"
                    + " epoch resumes it ({} tracked)", Long.toHexString(o.epochId()), volumeId, o.fromBytes(),
                    set.describe());
        } catch (IOException | RuntimeException e) {
            log.warn("resync volume={}: the chunks an epoch cut by the source's stop owed could not be put back ({}):"
                    + " a replica still in it gets a whole-volume epoch", volumeId, e.toString());
        }
    }

    /** When the owed chunks' progress was last made durable ({@link #noteCompared}). */
    private long owedPersistedNanos;

    /**
     * The epoch compared every chunk before {@code fromBytes}: at most once a second the buffer is
     * synced (the blocks logged for those chunks durable) and then the progress, so that a restart
     * resumes from there ({@link #resumeACutEpoch}).
     */
    private void noteCompared(long epochId, long fromBytes) throws IOException {
        long now = System.nanoTime();
        if (now - owedPersistedNanos < 1_000_000_000L) {
            return;
        }
        buffer.sync();
        buffer.changedChunks().owedCompareReached(epochId, fromBytes);
        owedPersistedNanos = now;
    }

    /**
     * An epoch abandoned after its BEGIN: the chunks it drained and had not compared go back into
     * the tracked set (every chunk from where it stopped, for a full one; nothing, when it stopped
     * before draining), so that the next epoch resumes it ({@link ResyncEpoch#resumes()}). When they
     * cannot be put back, its replicas stay stale and a full epoch follows, as before.
     */
    private void putBackWhatItOwed(ResyncEpoch abandoned) {
        ChangedChunks set = buffer.changedChunks();
        Owed o = owed;
        try {
            if (o != null) {
                set.restore(o.chunks(), o.fromBytes(), volume.sizeBytes());
            } else if (abandoned.full()) {
                set.restore(ChangedChunks.Snapshot.all(set.chunkBytes()), 0, volume.sizeBytes());
            }
            abandonedEpoch = abandoned.id();
            lastResult += "; the next epoch resumes it (" + set.describe() + " tracked)";
        } catch (IOException | RuntimeException e) {
            abandonedEpoch = 0;
            log.warn("resync epoch {} volume={}: its uncompared chunks could not be put back ({}): a full epoch follows",
                    Long.toHexString(abandoned.id()), volumeId, e.toString());
        } finally {
            owed = null;
        }
    }

    private void sleep(long millis) {
        try {
            closing.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    /**
     * Asks the buffer to leave FULL if space has returned: an idle host would otherwise leave it
     * FULL (and the replica unhealed) until its next write. Polled with {@link #decide}.
     */
    private boolean leftFull() {
        try {
            return buffer.retryFull();
        } catch (IOException e) {
            log.debug("capture buffer still FULL volume={} error={}", volumeId, e.toString());
            return false;
        }
    }

    /** What to resync now, or null (status says why not). */
    private Scope decide() {
        if (cycles != null) {
            return decideCycle();
        }
        if (buffer.status().mode() == BufferMode.FULL && !leftFull()) {
            waiting("capture buffer FULL: changed chunks are tracked until space returns");
            return null;
        }
        if (!buffer.capturePaused().isEmpty()) {
            waiting("capture " + buffer.capturePaused() + ": changed chunks are tracked until it resumes");
            return null;
        }
        ChangedChunks changed = buffer.changedChunks();
        String full = fullRequested.get();
        if (full != null) {
            return new Scope(true, full);
        }
        Request req = requested.get();
        if (req != null && req.full()) {
            return new Scope(true, "requested: " + req.reason());
        }
        String problem = null;
        String resuming = null;
        boolean needsFull = false;
        String down = null;
        List<Shipper> taking = participants();
        for (Shipper s : taking) {
            down = s.connected() ? down : downName(s);
            ReplicaStateReport r = s.replicaState();
            if (r == null) {
                continue;
            }
            boolean resyncing = r.state().equals(ReplicaStateReport.RESYNCING);
            if (resyncing && abandonedEpoch != 0 && r.resyncId() == abandonedEpoch) {
                resuming = s.config().remoteId() + " is resyncing in abandoned epoch " + Long.toHexString(abandonedEpoch);
                continue;
            }
            boolean stale = resyncing && r.resyncId() != activeEpoch && r.resyncId() != lastEpoch;
            if (r.state().equals(ReplicaStateReport.OUT_OF_SYNC) || stale) {
                problem = s.config().remoteId() + " is " + r.state() + (r.reason().isEmpty() ? "" : ": " + r.reason());
                // consistentSequence 0: no consistent point is known (e.g. written while promoted): all of it
                if (stale || changed.isEmpty() || r.consistentSequence() == 0
                        || r.consistentSequence() < changed.sinceSequence()) {
                    needsFull = true;
                }
            }
        }
        if (problem == null && resuming == null && changed.isEmpty() && req == null) {
            idle();
            return null;
        }
        if (down != null) {
            waiting("link to " + down + " is down");
            return null;
        }
        if (taking.isEmpty() && !shippers.isEmpty()) { // none at all: a copy epoch's sites (Kafka) take it
            waiting("every remote is released (down while it alone held the buffer): nothing to compare with");
            return null;
        }
        if (needsFull) {
            return new Scope(true, problem);
        }
        String why = req != null ? "requested: " + req.reason()
                : problem != null ? problem : resuming != null ? resuming : "tracked: " + changed.describe();
        return new Scope(false, why, abandonedEpoch);
    }

    /**
     * Cycle mode: a full cycle when a replica needs one, else the pending frozen image again, a
     * requested cycle, or one due because the host wrote and the cycle length passed.
     */
    private Scope decideCycle() {
        String full = fullRequested.get();
        Request req = requested.get();
        String problem = null;
        boolean needsFull = full != null || (req != null && req.full());
        String down = null;
        for (Shipper s : shippers) {
            down = s.connected() ? down : downName(s);
            ReplicaStateReport r = s.replicaState();
            if (r == null) {
                continue;
            }
            boolean resyncing = r.state().equals(ReplicaStateReport.RESYNCING);
            boolean retryable = resyncing && r.resyncId() == abandonedCycleEpoch && !abandonedCycleFull
                    && cycles.pending() != null;
            boolean stale = resyncing && r.resyncId() != activeEpoch && r.resyncId() != lastEpoch && !retryable;
            if (r.state().equals(ReplicaStateReport.OUT_OF_SYNC) || stale) {
                problem = s.config().remoteId() + " is " + r.state() + (r.reason().isEmpty() ? "" : ": " + r.reason());
                needsFull = true;
            }
        }
        if (!buffer.changedChunks().isEmpty()) { // e.g. the buffer was not closed cleanly: a replica may be anywhere
            problem = problem != null ? problem : "tracked: " + buffer.changedChunks().describe();
            needsFull = true;
        }
        if (down != null && full == null) {
            // A full cycle a shipper asked for starts with its link down, as a journal-mode full epoch
            // does: that shipper connects once the cycle's RESYNC_BEGIN is written. Waiting for its link
            // here left both waiting for ever (a source lost mid-copy, rolled back and resumed: probe M D7).
            waiting("link to " + down + " is down: the host's writes are kept in cycle " + cycles.activeCycle());
            return null;
        }
        if (needsFull) {
            return new Scope(true, "full cycle: " + (full != null ? full : req != null && req.full()
                    ? "requested: " + req.reason() : problem));
        }
        CycleVolume.Frozen pending = cycles.pending();
        if (pending != null) {
            return new Scope(false, "cycle " + pending.cycle() + " (frozen " + (abandonedCycleEpoch != 0
                    ? "before, copied again)" : cycles.group().isEmpty() ? "before)" : "with group " + cycles.group() + ")"));
        }
        if (req != null) {
            return new Scope(false, "cycle " + cycles.activeCycle() + ", requested: " + req.reason());
        }
        long dueInNanos = lastFreezeNanos + cycleLength.toNanos() - System.nanoTime();
        if (cycles.changedBlocks() > 0 && dueInNanos <= 0) {
            return new Scope(false, "cycle " + cycles.activeCycle());
        }
        if (cycles.changedBlocks() > 0) {
            waiting("cycle " + cycles.activeCycle() + ": " + cycles.changedBlocks() + " blocks written, frozen in "
                    + dueInNanos / 1_000_000_000L + " s");
        } else {
            idle();
        }
        return null;
    }

    /**
     * The shippers a journal-mode epoch runs with: all but those the buffer released
     * ({@link CaptureBuffer#releaseRemote}) whose links are down. A released remote's replica is
     * behind the buffer: when it returns, a full epoch brings it back; until then it must not hold
     * the others' epochs (nor could it: it cannot be asked for hashes). Cycle mode takes every one.
     */
    private List<Shipper> participants() {
        java.util.Map<String, String> released = buffer.releasedRemotes();
        if (released.isEmpty() || cycles != null) {
            return shippers;
        }
        List<Shipper> out = new ArrayList<>(shippers.size());
        for (Shipper s : shippers) {
            if (s.connected() || !released.containsKey(s.cursorId())) {
                out.add(s);
            }
        }
        return out;
    }

    private static String downName(Shipper s) {
        return s.config().remoteId() + (s.paused().isEmpty() ? "" : " (shipping " + s.paused() + ")");
    }

    private void runEpoch(Scope scope) throws IOException, InterruptedException {
        long startedMillis = System.currentTimeMillis();
        SourceVolume source = volume;
        CycleVolume.Frozen frozen = null;
        if (cycles != null) {
            if (cycles.pending() == null) {
                requested.set(null); // this freeze serves every cycle request made so far; later ones wait for the next
            }
            boolean fresh = cycles.pending() == null;
            frozen = cycles.freezeIfNone();
            source = frozen;
            if (fresh) {
                lastFreezeNanos = System.nanoTime();
            } else if (frozen.cycle() != frozenHere) {
                // Frozen by an earlier run of the wedge and copied again now: its age counts from that
                // freeze, by the wall clock (the monotonic one did not run then), not from this start
                // (probe s62 AE D3: a 50 s old image was shown as 10 s old).
                lastFreezeNanos = System.nanoTime()
                        - Math.max(0, System.currentTimeMillis() - frozen.frozenAtMillis()) * 1_000_000L;
            }
            frozenHere = frozen.cycle();
        }
        long id = random.nextLong(1, Long.MAX_VALUE); // never 0: 0 means "no epoch"
        boolean copy = config.copyChunks() && frozen == null;
        // A copy takes its chunks before its BEGIN: a chunk marked from here on (a write dropped while the
        // copy runs, whose GAP then lands inside the epoch) stays in the set and keeps the old bound.
        ChangedChunks.Snapshot copying = copy ? buffer.changedChunks().snapshotForCopy() : null;
        long copiedSince = !copy ? ResyncEpoch.NOT_A_COPY
                : scope.full() ? 0 : buffer.changedChunks().sinceSequence();
        ResyncEpoch e = new ResyncEpoch(id, scope.full(), frozen == null ? scope.reason()
                : scope.reason() + " " + io.tapline.log.CycleMark.text(frozen.frozenAtMillis(), cycles.group()),
                copiedSince, copy || frozen != null ? 0 : scope.resumes());
        epoch = e;
        chunksTotal.set(0);
        chunksCompared.set(0);
        bytesCompared.set(0);
        bytesSent.set(0);
        state = "resyncing";
        detail = "beginning: " + scope.reason();
        epochShippers = participants();
        ResyncWriter writer = new ResyncWriter(source, buffer, "epoch " + Long.toHexString(id));
        if (frozen != null) {
            writer.keepDigest();
        }
        long begin = writer.marker(RecordKind.RESYNC_BEGIN, e.payload());
        buffer.sync();
        activeEpoch = id;
        abandonedEpoch = 0; // a replica still in it after this BEGIN took no part here: stale
        owed = null;
        if (scope.full()) {
            lastFullBegin = begin;
            fullRequested.set(null);
        }
        if (cycles == null) {
            requested.set(null);
        }
        log.info("resync epoch began volume={} epoch={} seq={} full={} resumes={} reason={}", volumeId,
                Long.toHexString(id), begin, scope.full(), e.resumes() == 0 ? "-" : Long.toHexString(e.resumes()),
                scope.reason());
        awaitApplied(begin, config.ackTimeout(), "RESYNC_BEGIN");
        ChangedChunks.Snapshot tracked = frozen != null ? frozen.changedChunks(config.chunkBytes())
                : copy ? copying : buffer.changedChunks().drainOwed(begin, id, scope.full());
        if (frozen != null && scope.full()) {
            buffer.changedChunks().drain(begin); // the full cycle compares every chunk
        }
        boolean full = scope.full() || tracked.all();
        if (frozen == null && !copy) {
            owed = new Owed(full ? ChangedChunks.Snapshot.all(tracked.chunkBytes()) : tracked, 0);
            owedPersistedNanos = System.nanoTime();
        }
        cycleChunks = tracked;
        compareAll(source, full, copy, tracked, begin, id, writer);
        owed = null;
        long end = writer.marker(RecordKind.RESYNC_END, new ResyncEpoch(id, full, (copy ? "copied " : "compared ")
                + chunksCompared.get() + " chunks (" + bytesCompared.get() + " bytes), sent " + bytesSent.get() + " bytes"
                + writer.digestText(), copiedSince).payload());
        buffer.sync();
        if (copy) {
            buffer.changedChunks().copied(full ? ChangedChunks.Snapshot.all(tracked.chunkBytes())
                    : tracked, begin);
        } else if (frozen == null) {
            buffer.changedChunks().owedSettled();
        }
        lastEpoch = id;
        if (frozen != null) {
            detail = "cycle " + frozen.cycle() + ": waiting for every replica to apply seq " + end;
            awaitApplied(end, java.time.Duration.ofDays(365 * 100L), "RESYNC_END");
            cycles.copied(frozen);
            lastCopiedCycle = frozen.cycle();
            lastCopiedAtMillis = frozen.frozenAtMillis();
            lastCopiedFrozenNanos = lastFreezeNanos;
            lastCopyMillis = System.currentTimeMillis() - Math.min(startedMillis, frozen.frozenAtMillis());
            cyclesCopied.incrementAndGet();
            abandonedCycleEpoch = 0;
            cycleChunks = null;
            log.info("cycle copied volume={} cycle={} epoch={} copyMillis={}", volumeId, frozen.cycle(),
                    Long.toHexString(id), lastCopyMillis);
        }
        activeEpoch = 0;
        epochsCompleted.incrementAndGet();
        lastResult = "epoch " + Long.toHexString(id) + " done at seq " + end + ": compared " + bytesCompared.get()
                + " bytes, sent " + bytesSent.get() + " bytes";
        detail = lastResult;
        state = "idle";
        log.info("resync epoch ended volume={} epoch={} seq={} comparedBytes={} sentBytes={}", volumeId,
                Long.toHexString(id), end, bytesCompared.get(), bytesSent.get());
    }

    private void runVerify(VerifyRequest v) throws InterruptedException {
        if (cycles != null) {
            v.result().completeExceptionally(new IOException("verify is not available in cycle mode yet: the"
                    + " replicas hold the last copied cycle, not the live volume"));
            return;
        }
        if (shippers.isEmpty()) {
            v.result().completeExceptionally(new IOException("verify: no replica of volume " + volumeId + " can be"
                    + " asked for hashes (expected: a journey link; a Kafka site cannot answer, and comparing with"
                    + " nobody would prove nothing)"));
            return;
        }
        state = "verifying";
        detail = "verify requested by " + v.actor();
        try {
            for (Shipper s : shippers) {
                if (!s.connected()) {
                    throw new IOException("link to " + s.config().remoteId() + " is down: cannot verify");
                }
            }
            VerifyReport report = new OnlineVerify(volume, buffer, shippers, config, d -> detail = d, () -> closed)
                    .run(v.actor());
            for (Shipper s : shippers) {
                s.sendControl(report);
            }
            for (long[] r : report.ranges()) {
                buffer.changedChunks().mark(r[0], r[1]);
            }
            log.info("volume={} {}", volumeId, report.summary());
            lastResult = report.summary();
            v.result().complete(report);
        } catch (IOException | RuntimeException e) {
            log.warn("volume={} verify failed: {}", volumeId, e.toString());
            v.result().completeExceptionally(e);
        } catch (InterruptedException e) {
            v.result().completeExceptionally(new IOException("verify of volume " + volumeId + " stopped: the source"
                    + " is stopping"));
            throw e;
        } finally {
            state = "idle";
            detail = lastResult;
        }
    }

    /** Waits until every replica applied {@code sequence} (its ACK), so their hashes describe the epoch. */
    private void awaitApplied(long sequence, java.time.Duration timeout, String what)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Shipper s : epochShippers) {
            while (s.status().lastAckedSequence() < sequence) {
                if (closed) {
                    throw new InterruptedException("closed");
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("replica " + s.config().remoteId() + " did not apply " + what + " seq "
                            + sequence + " within " + timeout.toSeconds() + " s");
                }
                detail = "waiting for " + s.config().remoteId() + " to apply seq " + sequence + " (at "
                        + s.status().lastAckedSequence() + ")";
                closing.await(50, TimeUnit.MILLISECONDS);
            }
        }
    }

    private void compareAll(SourceVolume volume, boolean full, boolean copy, ChangedChunks.Snapshot tracked, long begin,
            long id, ResyncWriter writer) throws IOException, InterruptedException {
        ResyncConfig c = config;
        int chunkBytes = c.chunkBytes();
        long size = volume.sizeBytes();
        long chunks = (size + chunkBytes - 1) / chunkBytes;
        chunksTotal.set(full ? chunks : countTracked(tracked, chunks, chunkBytes));
        detail = (copy ? "copying " : "comparing ") + chunksTotal.get() + " chunks of " + chunkBytes + " bytes";
        ChunkComparator comparator = new ChunkComparator(volume, epochShippers);
        RateLimiter limiter = new RateLimiter(c.rateBytesPerSecond());
        long index = 0;
        while (index < chunks) {
            if (closed) {
                throw new InterruptedException("closed");
            }
            long first = full ? index : nextTracked(tracked, index, chunks, chunkBytes);
            if (first < 0) {
                break;
            }
            long last = first + 1;
            while (last < chunks && last - first < MAX_CHUNKS_PER_REQUEST
                    && (full || tracked.contains(last * chunkBytes / tracked.chunkBytes()))) {
                last++;
            }
            int count = (int) (last - first);
            long read = Math.min((long) count * chunkBytes, size - first * chunkBytes);
            BitSet differing = copy ? null : comparator.compare(chunkBytes, first, count, begin, id).differing();
            bytesCompared.addAndGet(read);
            chunksCompared.addAndGet(count);
            limiter.acquire(read);
            List<ResyncWriter.Range> send = copy ? List.of(new ResyncWriter.Range(first * chunkBytes, read)) // whole
                    : differing.isEmpty() ? List.of()
                    : !full && volume instanceof CycleVolume.Frozen f ? written(f, c, first, differing)
                    : refine(comparator, c, first, differing, begin, id, size);
            if (!send.isEmpty()) {
                bytesSent.addAndGet(writer.write(send));
            }
            index = last;
            Owed o = owed;
            if (o != null) {
                owed = new Owed(o.chunks(), index * chunkBytes); // compared, and its differing blocks logged
                noteCompared(id, index * chunkBytes);
            }
        }
    }

    /**
     * Cycle mode, a cycle after a copied one: a replica holds the previous cycle, so in a chunk
     * that differs only the blocks the frozen cycle wrote can differ. They are sent without a
     * second, block-level comparison (a round trip saved per request; a block rewritten with the
     * same bytes crosses, where the comparison would have kept it).
     */
    private static List<ResyncWriter.Range> written(CycleVolume.Frozen frozen, ResyncConfig c, long firstChunk,
            BitSet differing) {
        List<ResyncWriter.Range> ranges = new ArrayList<>();
        for (int i = differing.nextSetBit(0); i >= 0; i = differing.nextSetBit(i + 1)) {
            for (long[] r : frozen.writtenRanges((firstChunk + i) * c.chunkBytes(), c.chunkBytes())) {
                ResyncWriter.Range last = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
                if (last != null && last.offsetBytes() + last.lengthBytes() == r[0]) {
                    ranges.set(ranges.size() - 1, new ResyncWriter.Range(last.offsetBytes(), last.lengthBytes() + r[1]));
                } else {
                    ranges.add(new ResyncWriter.Range(r[0], r[1]));
                }
            }
        }
        return ranges;
    }

    /** Compares the differing chunks block by block; returns the differing blocks as coalesced ranges. */
    private List<ResyncWriter.Range> refine(ChunkComparator comparator, ResyncConfig c, long firstChunk,
            BitSet differing, long begin, long id, long size) throws IOException, InterruptedException {
        int blocksPerChunk = c.chunkBytes() / c.blockBytes();
        List<ResyncWriter.Range> ranges = new ArrayList<>();
        for (int i = differing.nextSetBit(0); i >= 0; ) {
            int j = i;
            while (j + 1 < differing.length() && differing.get(j + 1)
                    && (long) (j + 2 - i) * blocksPerChunk <= io.tapline.journey.control.ChunkHashRequest.MAX_CHUNKS) {
                j++;
            }
            long firstBlock = (firstChunk + i) * blocksPerChunk;
            long blocks = Math.min((long) (j - i + 1) * blocksPerChunk,
                    (size + c.blockBytes() - 1) / c.blockBytes() - firstBlock);
            BitSet d = comparator.compare(c.blockBytes(), firstBlock, (int) blocks, begin, id).differing();
            for (int b = d.nextSetBit(0); b >= 0; ) {
                int e = b;
                while (d.get(e + 1)) {
                    e++;
                }
                long offset = (firstBlock + b) * c.blockBytes();
                long length = Math.min((long) (e - b + 1) * c.blockBytes(), size - offset);
                ranges.add(new ResyncWriter.Range(offset, length));
                b = d.nextSetBit(e + 1);
            }
            i = differing.nextSetBit(j + 1);
        }
        return ranges;
    }

    private static long nextTracked(ChangedChunks.Snapshot tracked, long from, long chunks, int chunkBytes) {
        long ratio = Math.max(1, tracked.chunkBytes() / chunkBytes);
        long t = tracked.next(from / ratio, (chunks + ratio - 1) / ratio);
        if (t < 0) {
            return -1;
        }
        return Math.max(from, t * ratio);
    }

    private static long countTracked(ChangedChunks.Snapshot tracked, long chunks, int chunkBytes) {
        long ratio = Math.max(1, tracked.chunkBytes() / chunkBytes);
        long n = 0;
        for (long t = tracked.next(0, (chunks + ratio - 1) / ratio); t >= 0;
                t = tracked.next(t + 1, (chunks + ratio - 1) / ratio)) {
            n += Math.min(ratio, chunks - t * ratio);
        }
        return n;
    }

    private void waiting(String why) {
        state = "waiting";
        detail = why;
    }

    private void idle() {
        if (!state.equals("idle")) {
            state = "idle";
            detail = lastResult;
        }
    }
}
