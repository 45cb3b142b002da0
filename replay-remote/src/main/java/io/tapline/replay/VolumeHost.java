package io.tapline.replay;

import io.tapline.journey.JourneyMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import io.tapline.log.undo.UndoConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the replayer holds for one volume while it runs: the one thread that does its file
 * I/O (so a slow volume never blocks another, nor the event loop), the open {@link ReplicaVolume},
 * and the one session allowed to feed it.
 *
 * <p>Thread-safety: {@link #claim}, {@link #release} and {@link #status} from any thread; the
 * volume itself is touched only by tasks on {@link #executor()}, which run in submission order.
 */
final class VolumeHost {
    private static final Logger log = LoggerFactory.getLogger(VolumeHost.class);

    private final String volumeId;
    private final Path dataDir;
    private final UndoConfig undoConfig;
    private final AtomicBoolean adminBusy = new AtomicBoolean();
    private final ScheduledExecutorService executor;
    private final AtomicReference<ReplaySession> session = new AtomicReference<>();
    private final RoleListener roles;
    private final ApplyObserver observer;
    private final ApplyFaults faults;
    private volatile io.tapline.journey.control.SourceHead sourceHead;
    private volatile io.tapline.journey.control.SourceStopping sourceStopping;
    private volatile ReplicaVolume volume;

    VolumeHost(String volumeId, Path dataDir, UndoConfig undoConfig, RoleListener roles, ApplyObserver observer) {
        this(volumeId, dataDir, undoConfig, roles, observer, ApplyFaults.NONE);
    }

    /** With a fault-injection seam on the apply path (tests). */
    VolumeHost(String volumeId, Path dataDir, UndoConfig undoConfig, RoleListener roles, ApplyObserver observer,
            ApplyFaults faults) {
        this.faults = faults;
        this.observer = observer;
        this.volumeId = volumeId;
        this.dataDir = dataDir;
        this.undoConfig = undoConfig;
        this.roles = roles;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tapline-replay-" + volumeId);
            t.setDaemon(true);
            return t;
        });
        if (OUTSIDE_WRITES_CHECK_MILLIS > 0) { // between the volume's other tasks, in their order (FIFO when due at once)
            executor.scheduleWithFixedDelay(this::checkOutsideWrites, OUTSIDE_WRITES_CHECK_MILLIS,
                    OUTSIDE_WRITES_CHECK_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * How often an open, idle replica is looked at for writes by another program ({@link OutsideWrites});
     * {@code -Dtapline.replay.outsideWritesCheckMillis}, default 1000; 0 turns the watch off (also
     * before each group): for a replica host whose agents change the image's metadata on their own
     * (each change would cost a whole-volume comparison), and for tests that stand for corruption
     * beneath the file system, which no change time shows. The close-time stamp is checked anyway.
     */
    static final long OUTSIDE_WRITES_CHECK_MILLIS = io.tapline.log.BoundedProperty.read(
            "tapline.replay.outsideWritesCheckMillis", 1000, 60_000, "ms between looks at an open replica, 0 for none");

    /** On the executor, once a second: another program's writes to the open replica mark it out of sync. */
    private void checkOutsideWrites() {
        ReplicaVolume v = volume;
        if (v == null || v.broken()) {
            return;
        }
        try {
            ReplaySession s = session.get();
            if (v.checkOutsideWrites() && s != null) {
                s.replicaStateChanged(v);
                if (v.broken()) {
                    s.close(v.failure().reason()); // its source reconnects, and the volume is reopened then
                }
            }
            v.stampWhileIdle();
        } catch (IOException | RuntimeException e) { // never ends the schedule
            log.warn("volume={} looking for writes by another program failed: {}", volumeId, e.toString());
        }
    }

    ExecutorService executor() {
        return executor;
    }

    /** The open volume's rollback window as of its last applied group, or null when closed. */
    io.tapline.log.undo.UndoLog.Window undoWindow() {
        ReplicaVolume v = volume;
        return v == null ? null : v.window();
    }

    /** Least time between two REFUSED entries of one volume; the refusals between are counted in the next. */
    static final long REFUSAL_AUDIT_MILLIS = 10_000;
    /** When the last REFUSED entry was written (the volume's thread only). */
    private long lastRefusalAuditMillis = Long.MIN_VALUE / 2;
    /** Refusals since then that got no entry of their own (the volume's thread only). */
    private long refusalsNotAudited;

    /**
     * Records a refused peer in the volume's audit log, on the volume's thread (the log's one
     * writer): through the open volume, or by opening the log of an existing volume for the
     * entry. Nothing is created for a volume that does not exist (the refusal is logged only). At
     * most one entry every {@link #REFUSAL_AUDIT_MILLIS}: the next one says how many came between.
     */
    void auditRefusal(String who, String detail) {
        executor.execute(() -> {
            long now = System.currentTimeMillis();
            if (now - lastRefusalAuditMillis < REFUSAL_AUDIT_MILLIS) {
                refusalsNotAudited++; // a peer refused at line rate must not fill the audit log (probe N N4)
                return;
            }
            String coalesced = refusalsNotAudited == 0 ? detail : detail + "; and " + refusalsNotAudited
                    + " more refused peers since the last entry, not audited one by one (the replayer's log and"
                    + " tapline_replay_refused_sessions_total count each)";
            lastRefusalAuditMillis = now;
            refusalsNotAudited = 0;
            try {
                ReplicaVolume v = volume;
                Path dir = dataDir.resolve(volumeId);
                if (v != null) {
                    v.auditRefusal(who, coalesced);
                } else if (Files.isDirectory(dir.resolve(io.tapline.log.audit.AuditLog.DIR))) {
                    try (io.tapline.log.audit.AuditLog audit = io.tapline.log.audit.AuditLog.open(dir)) {
                        audit.append(io.tapline.log.audit.AuditType.REFUSED, audit.lastRecordSequence(), 0, 0, 0, 0, 0,
                                null, who, coalesced);
                        audit.sync();
                    }
                }
            } catch (IOException | RuntimeException e) {
                log.warn("refusal not audited volume={} who={} error={}", volumeId, who, e.toString());
            }
        });
    }

    /**
     * Makes {@code candidate} the volume's session unless a live one holds it. A session whose
     * channel is no longer active is closed and replaced, and so is a live one of the same source
     * that heard nothing for {@link ReplaySession#TAKEOVER_SILENCE_MILLIS} (its path is gone:
     * the source would not connect again otherwise).
     */
    boolean claim(ReplaySession candidate) {
        while (true) {
            ReplaySession current = session.get();
            boolean live = current != null && current.isLive();
            if (live && !current.yieldsTo(candidate)) {
                return false;
            }
            if (session.compareAndSet(current, candidate)) {
                if (live) {
                    log.warn("volume={} session {} heard nothing for {} ms: its source connected again, the new"
                            + " session takes the volume", volumeId, current, current.silentForMillis());
                    current.close("replaced: silent, its source connected again");
                } else if (current != null) {
                    log.debug("volume={} replacing dead session {}", volumeId, current);
                    current.close("replaced by a new session");
                }
                return true;
            }
        }
    }

    /** Gives the volume up if {@code owner} holds it. */
    void release(ReplaySession owner) {
        session.compareAndSet(owner, null);
    }

    /**
     * On the executor: opens the volume (first time) and checks that {@code hello} matches it.
     *
     * @throws RefusedException also when the volume is paused after a rollback
     */
    ReplicaVolume open(JourneyMessage.Hello hello) throws IOException, RefusedException {
        VolumeRole r = role();
        if (r.primary() && hello.generation() > r.generation()) {
            // A primary of a newer generation ships here: this node's primary was superseded (a
            // forced promotion elsewhere). Its host stops now; the rejoin follows from the newer
            // primary's own refusal of this node's shipper (which names the sequence it started at).
            String reason = "superseded: volume " + volumeId + " is primary on this node at generation "
                    + r.generation() + ", older than generation " + hello.generation() + " of source "
                    + hello.sourceId() + ": this node's host is fenced; it rejoins as that primary's secondary"
                    + " once its own link to it is refused (tapline status --data shows it)";
            log.error("volume={} {}", volumeId, reason);
            roles.superseded(volumeId, dataDir.resolve(volumeId), r, hello.generation(), reason);
            throw new RefusedException(reason);
        }
        if (r.primary()) {
            throw new RefusedException(r.fencedReason(volumeId));
        }
        // A new volume's folder is made by its open below: its generation is recorded once it exists
        // (writing the role file first failed, and a new replica of a promoted volume was refused for ever).
        boolean exists = java.nio.file.Files.isDirectory(dataDir.resolve(volumeId));
        if (exists) {
            learnGeneration(hello.generation());
        }
        ReplicaVolume v = healed();
        if (v != null && hello.volumeSizeBytes() > v.sizeBytes() && v.pausedReason() == null) {
            // The source grew: closed here (on the apply thread, nothing staged), grown, opened again.
            volume = null;
            v.close();
            v = null;
        }
        if (v == null) {
            ReplicaGrowth.growIfLarger(dataDir, hello);
            v = markIfWrittenOutsideLog(keptIfRefused(() -> ReplicaVolume.open(dataDir, hello, undoConfig, faults)), r);
            volume = v;
            if (!exists) {
                learnGeneration(hello.generation()); // before WELCOME: nothing is applied yet
            }
        } else {
            v.checkSame(hello);
        }
        if (v.pausedReason() != null) {
            throw new RefusedException(v.pausedReason());
        }
        return v;
    }

    /** Opens a volume's files; a volume they cannot open is failed with the reason in status meanwhile. */
    @FunctionalInterface
    private interface Opening {
        ReplicaVolume open() throws IOException, RefusedException;
    }

    /**
     * {@code opening}, and when its files cannot be opened (a damaged audit log, an undo segment
     * damaged mid-file, a corrupt {@code applied.state}), the reason in {@link ReplicaVolume#FAILED_FILE}
     * for {@code status --data} while this replayer runs: the volume applies nothing until it opens,
     * and its files alone still said consistent. The next successful open removes it.
     */
    private ReplicaVolume keptIfRefused(Opening opening) throws IOException, RefusedException {
        try {
            return opening.open();
        } catch (IOException e) {
            ReplicaVolume.keepFailure(dataDir.resolve(volumeId), "cannot open the volume's files: " + e.getMessage());
            throw e;
        }
    }

    /** On the executor: the volume, opened from its files if no source opened it yet. */
    ReplicaVolume openExisting() throws IOException, RefusedException {
        VolumeRole r = role();
        if (r.primary()) {
            throw new RefusedException("volume " + volumeId + " is primary on this node (generation " + r.generation()
                    + "): its replica is served read-write, not replayed; demote it first");
        }
        ReplicaVolume v = healed();
        if (v == null) {
            v = markIfWrittenOutsideLog(keptIfRefused(() -> ReplicaVolume.openExisting(dataDir, volumeId, undoConfig,
                    faults)), r);
            volume = v;
        }
        return v;
    }

    /**
     * On the executor: the open volume, reopened from its files first when a group or a rollback
     * failed part-way. Reopening is what a restart does: an unfinished rollback is completed and
     * records above the durable applied sequence are undone from their before-images, so the
     * undo log, the replica and {@code applied.state} agree again, and the retried batch applies.
     * Until a reopen succeeds the old volume stays (closed) for its {@code failed} status.
     *
     * @throws RefusedException after a failed fdatasync, which only a restart clears
     */
    private ReplicaVolume healed() throws IOException, RefusedException {
        ReplicaVolume v = volume;
        if (v == null || !v.broken()) {
            return v;
        }
        if (v.failure() != null && v.failure().needsRestart()) {
            throw new RefusedException(v.failure().reason());
        }
        try {
            v.close();
        } catch (IOException e) {
            log.warn("volume={} closing the failed volume's files: {}", volumeId, e.toString());
        }
        ReplicaVolume fresh;
        try {
            fresh = markIfWrittenOutsideLog(ReplicaVolume.openExisting(dataDir, volumeId, undoConfig, faults), role());
        } catch (IOException | RefusedException | RuntimeException e) {
            v.healFailed(e);
            log.error("volume={} still failed: reopening to undo the failed operation: {}", volumeId, e.toString());
            throw e;
        }
        fresh.failedBefore(v);
        volume = fresh;
        log.info("volume healed volume={} lastApplied={} (the failed operation was undone or completed from the"
                + " undo log)", volumeId, fresh.lastApplied());
        return fresh;
    }

    /**
     * A replica served read-write while it was a promoted primary here, then fenced and rejoined:
     * out of sync with no consistent point (durably, audited), then the role's flag is cleared.
     */
    private ReplicaVolume markIfWrittenOutsideLog(ReplicaVolume v, VolumeRole r) throws IOException {
        v.observe(observer);
        if (r.writtenOutsideLog()) {
            try {
                v.demoted(r, "rejoined as secondary of generation " + r.generation() + " after serving writes as a"
                        + " fenced primary (kept aside as a discarded image); out of sync until its source resyncs it",
                        false);
                r.marked().write(dataDir.resolve(volumeId));
            } catch (IOException | RuntimeException e) {
                v.close();
                throw e;
            }
        }
        return v;
    }

    /**
     * The volume's role on this node, read from its directory each time: the node may change it
     * (a fenced primary demotes itself) without going through this host.
     */
    VolumeRole role() throws IOException {
        return VolumeRole.read(dataDir.resolve(volumeId));
    }

    /** The volume's folder under the replayer's {@code --data}. */
    Path volumeDir() {
        return dataDir.resolve(volumeId);
    }

    /**
     * On the executor: makes the replica the volume's primary. Without {@code force} the replica
     * must be consistent, no source connected, and the source must have said as it stopped that
     * every record it captured arrived (or a switchover drained it): a planned promotion loses nothing. The
     * replica's files are closed, the new generation written durably, then the listener serves it.
     *
     * @param sessionLive whether a source was connected when the request arrived
     * @param minimumGeneration the new generation is at least this (a switchover passes the
     *        demoted side's generation + 1, so that no two primaries ever share one)
     * @return one line for the administrator: generation, sequence, what may be missing
     */
    String promote(String actor, boolean force, String peers, boolean sessionLive, long minimumGeneration)
            throws IOException, RefusedException {
        VolumeRole r = role();
        if (r.primary()) {
            throw new RefusedException("volume " + volumeId + " is already primary on this node (generation "
                    + r.generation() + ", promoted by " + r.actor() + ")");
        }
        ReplicaVolume v = openExisting();
        if (!force && sessionLive) {
            throw new RefusedException("volume " + volumeId + " still has a live source: its primary is up; demote or"
                    + " stop it first (planned: tapline switchover), or promote --force to fence it");
        }
        if (!force && !v.consistent()) {
            throw new RefusedException("volume " + volumeId + " is not a consistent image at seq " + v.lastApplied()
                    + " (" + v.status(false).reason() + "); roll back with --to-last-consistent first, or promote"
                    + " --force to serve it as it is");
        }
        String incomplete = force || minimumGeneration > 0 ? null : notWholeSource(v.lastApplied());
        if (incomplete != null) { // a switchover (minimumGeneration > 0) drained the demoted source first
            throw new RefusedException("volume " + volumeId + ": a promotion without --force must lose nothing, but "
                    + incomplete + "; start the source again until its replica is synced (cycle mode: tapline cycle"
                    + " now, then status --wait-synced), stop it cleanly, and promote again; or promote --force to"
                    + " accept what is missing");
        }
        long seq = v.lastApplied();
        VolumeRole promoted = r.promoted(seq, System.currentTimeMillis(), actor, peers, minimumGeneration);
        io.tapline.journey.control.SourceHead head = sourceHead;
        io.tapline.journey.control.SourceStopping stop = sourceStopping;
        boolean whole = stop != null && stop.capturedSequence() <= seq && stop.unshippedChanges() == 0;
        String lastHeard = head == null ? "its newest captured sequence is unknown (no contact since this replayer"
                + " started)" : head.capturedSequence() <= seq ? "at its last contact ("
                + java.time.Instant.ofEpochMilli(head.atMillis()) + ", " + sinceContact(head) + " before this"
                + " promotion) it had captured no more records (cycle mode's writes since the last copied cycle are"
                + " not counted there); anything it captured after that (a source stopped or cut off without a"
                + " switchover's drain) is not here either"
                : "at its last contact (" + java.time.Instant.ofEpochMilli(head.atMillis()) + ") it had captured up"
                + " to seq " + head.capturedSequence() + ": at least " + (head.capturedSequence() - seq)
                + " records never arrived";
        // A clean stop proves its moment only: a source started again while it could not reach this replica
        // and written to is not seen here (probe s62 AF D1); its writes are kept aside when it rejoins.
        String loss = whole ? "its source stopped cleanly (" + java.time.Instant.ofEpochMilli(stop.atMillis())
                + ") having captured up to seq " + stop.capturedSequence() + ": all of that is here (a source"
                + " started again since, unseen here, and written to would hold more: a wedge node keeps that aside"
                + " as an image when it rejoins)"
                : "any record the old primary captured after seq " + seq + " is not here; " + lastHeard
                + " (a switchover drains them first; a wedge node keeps them aside as an image when it rejoins)";
        String detail = "promoted to primary generation " + promoted.generation() + " at seq " + seq
                + (v.consistent() ? "" : " (not consistent: " + v.status(false).reason() + ")")
                + (force ? " (forced)" : "") + "; " + loss;
        v.auditPromotion(promoted, detail);
        volume = null;
        v.close();
        promoted.write(dataDir.resolve(volumeId));
        try {
            roles.promoted(volumeId, dataDir.resolve(volumeId), promoted, v.sizeBytes());
        } catch (IOException e) {
            // The promotion is durable (role, audit: older generations are fenced from now on); only
            // serving it failed, and the node retries that. Said so, not as a bare errno that reads
            // as "nothing happened" (probe O O6: an operator told "failed" may promote elsewhere).
            throw new IOException("volume " + volumeId + " " + detail + "; BUT it cannot be served yet: "
                    + io.tapline.log.DurableFiles.reason(e) + "; the promotion stands (do not"
                    + " promote again): the node serves it as soon as that is fixed", e);
        }
        return "volume " + volumeId + " " + detail + (roles == RoleListener.NONE ? "; this replayer serves no NBD"
                + " endpoint: no host can reach the volume until it is restarted with --nbd HOST:PORT" : "");
    }

    /**
     * On the executor: turns a promoted volume back into a secondary. The listener stops serving
     * it and keeps what was written meanwhile; the replica is marked out of sync with no
     * consistent point, so its source resyncs the whole volume by checksums.
     */
    String demote(String actor, boolean handOver) throws IOException, RefusedException {
        VolumeRole r = role();
        if (!r.primary()) {
            throw new RefusedException("volume " + volumeId + " is not primary on this node (secondary, generation "
                    + r.generation() + ")");
        }
        String kept = roles.demoting(volumeId, dataDir.resolve(volumeId), r, handOver);
        VolumeRole demoted = r.demoted(0, System.currentTimeMillis(), actor);
        if (VolumeMeta.read(dataDir.resolve(volumeId)) == null) {
            // A node's own volume that never was a replica: its image is adopted (out of sync) when
            // the new primary first ships to it.
            demoted.write(dataDir.resolve(volumeId));
            return "volume " + volumeId + " demoted to secondary (generation " + r.generation() + "); written while"
                    + " primary: " + kept;
        }
        ReplicaVolume v = ReplicaVolume.openExisting(dataDir, volumeId, undoConfig);
        v.observe(observer);
        boolean unchanged = RoleListener.NOTHING_WRITTEN.equals(kept);
        String detail = "demoted to secondary (generation " + r.generation() + ", begun at seq " + v.lastApplied() + ")"
                + "; written while primary: " + kept + (unchanged ? "; the replica is as it was at its promotion"
                        : "; out of sync until its source resyncs it");
        try {
            v.demoted(demoted, detail, unchanged);
            demoted = new VolumeRole(false, r.generation(), v.lastApplied(), demoted.millis(), actor, "");
            demoted.write(dataDir.resolve(volumeId));
        } catch (IOException | RuntimeException e) {
            v.close();
            throw e;
        }
        volume = v;
        return "volume " + volumeId + " " + detail;
    }

    private static String sinceContact(io.tapline.journey.control.SourceHead head) {
        long seconds = Math.max(0, (System.currentTimeMillis() - head.atMillis()) / 1000);
        return seconds + " s";
    }

    /** Any thread: the source's newest captured sequence, as it last said. */
    void sourceHead(io.tapline.journey.control.SourceHead head) {
        sourceHead = head;
    }

    /** Any thread: the source's last word as it stopped cleanly; null when a session of it began again. */
    void sourceStopping(io.tapline.journey.control.SourceStopping stopping) {
        sourceStopping = stopping;
    }

    /**
     * Why a promotion without --force could lose what the source acknowledged to its host, or null
     * when the source's last word, as it stopped cleanly, says this replica holds everything it
     * captured (and nothing else of it is pending). A source killed, cut off, stopped behind a slow
     * line (its last word dropped with the queued batches) or older than this replayer says nothing.
     */
    private String notWholeSource(long appliedSequence) {
        io.tapline.journey.control.SourceStopping stop = sourceStopping;
        if (stop == null) {
            return "its source did not say, as it stopped, that everything it captured arrived (killed, cut off,"
                    + " stopped behind a slow link whose queue the stop dropped, shipping paused, a source older than"
                    + " this replayer, or this replayer restarted since)";
        }
        if (stop.capturedSequence() > appliedSequence) {
            return "its source stopped having captured up to seq " + stop.capturedSequence() + " and this replica"
                    + " holds seq " + appliedSequence + ": " + (stop.capturedSequence() - appliedSequence)
                    + " records never arrived";
        }
        if (stop.unshippedChanges() > 0) {
            return "its source stopped with " + stop.unshippedChanges() + " change(s) no record carried (cycle mode's"
                    + " blocks not yet copied, or chunks tracked for a resync)";
        }
        return null;
    }

    /**
     * On the executor: the source announced its generation; a secondary remembers the newest (so
     * that its own promotion later starts above it).
     */
    void learnGeneration(long generation) throws IOException {
        VolumeRole r = role();
        if (!r.primary() && generation > r.generation()) {
            new VolumeRole(false, generation, r.sequence(), r.millis(), r.actor(), r.peers(), r.writtenOutsideLog())
                    .write(dataDir.resolve(volumeId));
            log.info("volume={} follows a primary of generation {} (was {})", volumeId, generation, r.generation());
        }
    }

    /**
     * Runs {@code action} on the apply thread, between two applied groups (the replica does not
     * change meanwhile), and returns its result: a forwarding node's resync reads the replica
     * there.
     */
    <T> T onApplyThread(java.util.concurrent.Callable<T> action) throws IOException, InterruptedException {
        try {
            return executor.submit(action).get();
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(c);
        }
    }

    /** Queues {@link #openExisting} (which finishes an interrupted rollback); failures are logged. */
    void openExistingInBackground() {
        executor.execute(() -> {
            try {
                openExisting();
            } catch (IOException | RefusedException | RuntimeException e) {
                log.error("volume={} cannot be opened to finish its rollback: {}", volumeId, e.toString());
            }
        });
    }

    /**
     * Starts an administrator's operation: no source may connect until {@link #endAdmin}, and a
     * live session is ended (the policy: a rollback pauses the volume first).
     *
     * @return false if another administrator's operation runs
     */
    boolean beginAdmin(String why) {
        if (!adminBusy.compareAndSet(false, true)) {
            return false;
        }
        ReplaySession s = session.getAndSet(null);
        if (s != null && s.isLive()) {
            s.endForAdmin("volume " + volumeId + " " + why);
        }
        return true;
    }

    /** Whether a source is connected now. */
    boolean sessionLive() {
        ReplaySession s = session.get();
        return s != null && s.isLive();
    }

    void endAdmin() {
        adminBusy.set(false);
    }

    /** Whether an administrator's operation runs now (sources are refused meanwhile). */
    boolean adminBusy() {
        return adminBusy.get();
    }

    /** {@link ReplaySession#unappliedForMillis} of the live session; 0 without one. */
    long unappliedForMillis() {
        ReplaySession s = session.get();
        return s != null && s.isLive() ? s.unappliedForMillis() : 0;
    }

    /** The volume's figures, or null if it was never opened in this run. */
    VolumeStatus status() {
        ReplicaVolume v = volume;
        ReplaySession s = session.get();
        return v == null ? null : v.status(s != null && s.isLive());
    }

    /** Stops the apply thread after the queued tasks, then closes the files. */
    void close() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
                log.warn("volume={} apply thread did not stop within 30 s", volumeId);
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ReplicaVolume v = volume;
        if (v != null) {
            try {
                v.close();
            } catch (IOException e) {
                log.warn("volume={} closing files failed: {}", volumeId, e.toString());
            }
        }
    }
}
