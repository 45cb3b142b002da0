package io.tapline.replay;

import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordKind;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import io.tapline.log.undo.BeforeImages;
import io.tapline.log.undo.MarkIndex;
import io.tapline.log.undo.UndoLog;
import io.tapline.log.volume.VolumeFile;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.SyncFailedException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the fresh records of one checked batch to a volume's replica, its undo log and its
 * audit log, and makes all three durable before returning (the caller then persists the applied
 * sequence and ACKs).
 *
 * <p>Order on stable storage: before-images first ({@code undo} fdatasync), then the replica.
 * The audit entries of the batch (with the SHA-256 of each WRITE payload, usually computed where
 * the batch was received) are built, appended and synced on a second thread while the replica is
 * written and synced: the two files do not depend on each other, and recovery already undoes
 * records that reached the audit log but not {@code applied.state}. Entries stay in sequence order
 * (one task per batch, one thread), and the batch is not reported applied until the audit sync
 * finished.
 *
 * <p>Pipelining ({@link #stage} then {@link #finish}): the replica fdatasync of a group runs on a
 * second thread ({@code replica-sync-<volume>}) while the apply thread stages the next group
 * (its before-images, undo append and undo fdatasync, its replica pwrites). The rule that makes
 * this safe is unchanged per record: a record's before-image is durable before any of its bytes
 * is written to the replica. The applied sequence is persisted (by the owner) only after
 * {@link #finish}, so what a power cut leaves above it is always covered by undo records.
 *
 * <p>Contiguous WRITEs (FUA or not) are gathered into one pwrite of up to {@link #GATHER_BYTES};
 * any other kind or a gap in offsets first writes what was gathered, so the replica sees the
 * records' bytes in sequence order. FLUSH and FUA do not fdatasync the replica where they stand:
 * the group's one replica fdatasync, before its applied sequence is persisted and it is
 * acknowledged, covers them (a sync in the middle of a group would promise nothing more, as
 * recovery undoes every record above the durable applied sequence).
 *
 * <p>Failures: any exception leaves the group half done (undo records above the applied
 * sequence, part of the replica written); the owner undoes it from the undo log before the next
 * group. A failed fdatasync of the undo log or the replica is thrown as
 * {@link SyncFailedException}: the kernel may have dropped the dirty pages and marked them clean,
 * so a later sync that succeeds proves nothing about them.
 *
 * <p>Not thread-safe: called on the volume's apply thread; owns the audit thread.
 */
final class BatchApply implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(BatchApply.class);
    static final int GATHER_BYTES = 8 << 20;

    /** What the batch changed: {@code dirty} when the replica must be fdatasync'd (data changed, or a FLUSH). */
    record Outcome(boolean dirty, SyncState sync, long bytes) {
    }

    /**
     * Where the apply time goes, summed over every volume of the process (a few {@code nanoTime}
     * calls per group): {@code ApplyPathBench} prints it; docs/benchmarks.md quotes it.
     */
    static final class Phases {
        final java.util.concurrent.atomic.LongAdder beforeImages = new java.util.concurrent.atomic.LongAdder();
        final java.util.concurrent.atomic.LongAdder undoSync = new java.util.concurrent.atomic.LongAdder();
        final java.util.concurrent.atomic.LongAdder replicaWrite = new java.util.concurrent.atomic.LongAdder();
        /** On the sync thread, overlapping the next group's work when pipelined. */
        final java.util.concurrent.atomic.LongAdder replicaSync = new java.util.concurrent.atomic.LongAdder();
        /** On the sync thread. */
        final java.util.concurrent.atomic.LongAdder waitAudit = new java.util.concurrent.atomic.LongAdder();
        /** On the sync thread. */
        final java.util.concurrent.atomic.LongAdder statePersist = new java.util.concurrent.atomic.LongAdder();
        /** Where batches are received (a session's event loop): unpacking and checking them (CRC-32Cs, payload copies). */
        final java.util.concurrent.atomic.LongAdder unpack = new java.util.concurrent.atomic.LongAdder();
        /** On the audit thread: the entries built (SHA-256 of each WRITE payload) and appended. */
        final java.util.concurrent.atomic.LongAdder auditAppend = new java.util.concurrent.atomic.LongAdder();
        /** On the audit thread: the audit log's and its head's fdatasyncs. */
        final java.util.concurrent.atomic.LongAdder auditSync = new java.util.concurrent.atomic.LongAdder();
        /** The apply thread waiting for the sync thread (what the overlap did not hide). */
        final java.util.concurrent.atomic.LongAdder waitSyncThread = new java.util.concurrent.atomic.LongAdder();

        /** The sums in seconds, then reset. */
        String takeSummary() {
            java.util.concurrent.atomic.LongAdder[] all = {beforeImages, undoSync, replicaWrite, replicaSync,
                waitAudit, statePersist, waitSyncThread, unpack, auditAppend, auditSync};
            String[] names = {"apply:beforeImages", "apply:undoSync", "apply:replicaWrite", "sync:replicaSync",
                "sync:waitAudit", "sync:statePersist", "apply:waitSyncThread", "recv:unpack", "audit:append",
                "audit:sync"};
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < all.length; i++) {
                b.append(i == 0 ? "" : " ").append(names[i]).append('=')
                        .append(String.format(java.util.Locale.ROOT, "%.2f", all[i].sumThenReset() / 1e9));
            }
            return b.toString();
        }
    }

    static final Phases PHASES = new Phases();

    private final String volumeId;
    private final VolumeFile replica;
    private final UndoLog undo;
    private final MarkIndex marks;
    private final AuditLog audit;
    private final ExecutorService auditThread;
    /**
     * Runs each staged group's replica fdatasync, waits for its audit sync and persists its
     * applied sequence, in group order, while the apply thread stages the next group.
     */
    private final ExecutorService syncThread;
    /** Sync thread: a group's sync work failed; every later group's fails too (the volume is reopened). */
    private boolean syncFailed;
    private final ApplyFaults faults;
    private final ZeroInSteps zeroInSteps;
    private final ByteBuffer gather = ByteBuffer.allocateDirect(GATHER_BYTES);
    private final BeforeImages beforeImages = new BeforeImages();
    private long gatherOffset;

    BatchApply(String volumeId, VolumeFile replica, UndoLog undo, MarkIndex marks, AuditLog audit,
            ApplyFaults faults) {
        this.faults = faults;
        this.volumeId = volumeId;
        this.replica = replica;
        this.undo = undo;
        this.marks = marks;
        this.audit = audit;
        this.zeroInSteps = new ZeroInSteps(replica, undo, this::syncUndo, faults);
        this.auditThread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "audit-" + volumeId);
            t.setDaemon(true);
            return t;
        });
        this.syncThread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "replica-sync-" + volumeId);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * A group written to the replica whose replica fdatasync and audit sync may still run: {@link #finish}
     * waits for both. Until then the group is not durable and must not be acknowledged.
     */
    static final class Staged {
        private final Outcome outcome;
        private final Future<?> audited;
        private final Future<?> done;

        private Staged(Outcome outcome, Future<?> audited, Future<?> done) {
            this.outcome = outcome;
            this.audited = audited;
            this.done = done;
        }

        Outcome outcome() {
            return outcome;
        }

        /** Waits until neither sync of the group runs any more, whatever their result (a failed group's cleanup). */
        void settle() {
            for (Future<?> f : new Future<?>[] {done, audited}) {
                try {
                    await(f);
                } catch (IOException | RuntimeException ignored) {
                    // the group failed; the caller already reports why
                }
            }
        }
    }

    /** What runs on the sync thread once a staged group's replica and audit syncs succeeded (persisting its applied sequence). */
    interface AfterSync {
        void run(Outcome outcome) throws IOException;
    }

    /**
     * Pipelined apply, first half: before-images appended and fdatasync'd, then the group's bytes
     * written to the replica (page cache), then the replica fdatasync started on the volume's
     * sync thread and the audit entries on the audit thread. Returns without waiting for either:
     * the caller may stage the next group at once (its before-images read the replica after
     * this group's pwrites, so they hold this group's bytes) while this group's replica sync
     * runs, and calls {@link #finish} before it persists the applied sequence.
     *
     * <p>Why this is crash-safe: every byte of this group reached the replica only after its
     * before-image was durable, and so does every byte of the next group; the applied sequence
     * moves past this group only after {@link #finish}. A power cut therefore leaves undo records
     * for every replica byte above the durable applied sequence, and recovery undoes them newest
     * first, whatever mix of the two groups' writes the disk kept.
     *
     * <p>{@code digests} holds per record of {@code fresh} the SHA-256 of a WRITE's payload
     * (else {@code null}), computed where the batch was received ({@link ReceivedBatch}).
     */
    Staged stage(List<CaptureRecord> fresh, List<byte[]> digests, SyncState sync, long lastApplied, AfterSync then)
            throws IOException {
        // Before-images first, durable before the first byte of the batch reaches the replica. A
        // long TRIM/WRITE_ZEROES ends that step: it is applied in bounded steps of its own
        // (ZeroInSteps), and the records after it take their before-images after it.
        int cut = nextLongZero(fresh, 0);
        appendBeforeImages(fresh.subList(0, cut));
        Future<?> audited = auditThread.submit(() -> {
            long a0 = System.nanoTime();
            for (int i = 0; i < fresh.size(); i++) {
                auditRecord(fresh.get(i), digests.get(i));
            }
            long a1 = System.nanoTime();
            faults.before(ApplyFaults.Op.AUDIT_SYNC);
            audit.sync();
            PHASES.auditAppend.add(a1 - a0);
            PHASES.auditSync.add(System.nanoTime() - a1);
            return null;
        });
        Outcome outcome = outcome(fresh, sync, lastApplied);
        try {
            long w0 = System.nanoTime();
            writeReplica(fresh.subList(0, cut));
            PHASES.replicaWrite.add(System.nanoTime() - w0);
            while (cut < fresh.size()) {
                flushGathered(); // later before-images read what was written
                CaptureRecord r = fresh.get(cut);
                if (ZeroInSteps.takes(r)) {
                    zeroInSteps.apply(r); // FUA: the group's replica fdatasync covers it
                    cut++;
                } else {
                    int next = nextLongZero(fresh, cut);
                    appendBeforeImages(fresh.subList(cut, next));
                    writeReplica(fresh.subList(cut, next));
                    cut = next;
                }
            }
            long w1 = System.nanoTime();
            flushGathered();
            PHASES.replicaWrite.add(System.nanoTime() - w1);
        } catch (IOException | RuntimeException e) {
            awaitSuppressed(audited, e);
            throw e;
        }
        Future<?> done = syncThread.submit(() -> {
            if (syncFailed) {
                // A later sync that succeeds proves nothing about an earlier group's pages.
                throw new IOException("volume " + volumeId + ": an earlier group's replica sync or state write failed");
            }
            try {
                if (outcome.dirty()) {
                    long f0 = System.nanoTime();
                    forceReplica();
                    PHASES.replicaSync.add(System.nanoTime() - f0);
                }
                long a0 = System.nanoTime();
                await(audited);
                PHASES.waitAudit.add(System.nanoTime() - a0);
                then.run(outcome);
            } catch (IOException | RuntimeException | Error e) {
                syncFailed = true;
                throw e;
            }
            return null;
        });
        return new Staged(outcome, audited, done);
    }

    /**
     * Pipelined apply, second half: waits for the sync thread's work on the group (replica
     * fdatasync, audit sync, then {@code then}); durable on return.
     */
    Outcome finish(Staged staged) throws IOException {
        long t0 = System.nanoTime();
        try {
            await(staged.done);
            PHASES.waitSyncThread.add(System.nanoTime() - t0);
        } catch (IOException | RuntimeException e) {
            awaitSuppressed(staged.audited, e);
            throw e;
        }
        return staged.outcome;
    }

    /**
     * Waits for {@code f} after {@code failure}, adding its own failure to it as suppressed, unless it
     * is that same failure (the sync thread re-throws the audit's): {@code addSuppressed} of itself
     * throws, and its IllegalArgumentException would replace the cause an operator must read.
     */
    private static void awaitSuppressed(Future<?> f, Exception failure) {
        try {
            await(f);
        } catch (IOException | RuntimeException suppressed) {
            if (suppressed != failure) {
                failure.addSuppressed(suppressed);
            }
        }
    }

    /** Index of the first record at or after {@code from} that {@link ZeroInSteps} takes, or the size. */
    private static int nextLongZero(List<CaptureRecord> records, int from) {
        int i = from;
        while (i < records.size() && !ZeroInSteps.takes(records.get(i))) {
            i++;
        }
        return i;
    }

    private void appendBeforeImages(List<CaptureRecord> records) throws IOException {
        if (records.isEmpty()) {
            return;
        }
        long t0 = System.nanoTime();
        beforeImages.take(replica, records, undo);
        faults.before(ApplyFaults.Op.UNDO_APPEND);
        long t1 = System.nanoTime();
        syncUndo();
        PHASES.beforeImages.add(t1 - t0);
        PHASES.undoSync.add(System.nanoTime() - t1);
    }

    private static Outcome outcome(List<CaptureRecord> fresh, SyncState syncBefore, long lastApplied) {
        boolean dirty = false;
        SyncState sync = syncBefore;
        long previous = lastApplied;
        long bytes = 0;
        for (CaptureRecord r : fresh) {
            sync = sync.after(r, previous);
            previous = r.sequence();
            if (r.kind().changesData()) {
                dirty = true;
                bytes += r.lengthBytes();
            } else if (r.kind() == RecordKind.FLUSH) {
                dirty = true; // a FLUSH-only group still syncs the replica, as a FLUSH always did
            }
        }
        return new Outcome(dirty, sync, bytes);
    }

    /** Writes {@code records} (their before-images are durable); the caller flushes what is gathered. */
    private void writeReplica(List<CaptureRecord> records) throws IOException {
        for (CaptureRecord r : records) {
            if (r.kind() == RecordKind.WRITE) {
                gatherWrite(r);
            } else {
                flushGathered();
                switch (r.kind()) {
                    case WRITE -> {
                        faults.before(ApplyFaults.Op.REPLICA_WRITE);
                        replica.write(r.offsetBytes(), r.payload());
                    }
                    case WRITE_ZEROES -> {
                        faults.before(ApplyFaults.Op.REPLICA_WRITE);
                        replica.zero(r.offsetBytes(), r.lengthBytes(), (r.flags() & CaptureRecord.FLAG_NO_HOLE) == 0);
                    }
                    case DISCARD -> {
                        faults.before(ApplyFaults.Op.REPLICA_WRITE);
                        replica.zero(r.offsetBytes(), r.lengthBytes(), true);
                    }
                    case FLUSH -> {
                        // The group's replica fdatasync (before its applied sequence is persisted
                        // and it is acknowledged) covers it: a sync here would promise nothing more,
                        // since recovery undoes every record above the durable applied sequence.
                    }
                    case MARK -> {
                        marks.add(new MarkIndex.Mark(r.text(), r.sequence(), r.captureTimeNanos()));
                        log.info("mark volume={} seq={} name={}", volumeId, r.sequence(), r.text());
                    }
                    case GAP -> {
                        log.warn("capture gap volume={} seq={} offset={} length={} reason={}; replica is out of sync "
                                + "until resync", volumeId, r.sequence(), r.offsetBytes(), r.lengthBytes(), r.text());
                    }
                    case RESYNC_BEGIN, RESYNC_END -> log.info("{} volume={} seq={} {}", r.kind(), volumeId,
                            r.sequence(), r.text());
                    default -> throw new IllegalStateException("kind: " + r.kind());
                }
            }
        }
    }

    private void gatherWrite(CaptureRecord r) throws IOException {
        byte[] p = r.payload();
        boolean continues = gather.position() > 0 && r.offsetBytes() == gatherOffset + gather.position();
        if (!continues || gather.remaining() < p.length) {
            flushGathered();
        }
        if (p.length > gather.capacity()) {
            faults.before(ApplyFaults.Op.REPLICA_WRITE);
            replica.write(r.offsetBytes(), p);
            return;
        }
        if (gather.position() == 0) {
            gatherOffset = r.offsetBytes();
        }
        gather.put(p);
    }

    private void flushGathered() throws IOException {
        if (gather.position() == 0) {
            return;
        }
        gather.flip();
        try {
            faults.before(ApplyFaults.Op.REPLICA_WRITE);
            replica.write(gatherOffset, gather);
        } finally {
            gather.clear(); // a failed write must not leave its bytes for the next group
        }
    }

    /**
     * fdatasync of the undo log. {@link UndoLog#sync} reports a failed fdatasync itself as
     * {@link SyncFailedException}; a write of pending records failing first stays a plain error.
     */
    private void syncUndo() throws IOException {
        try {
            faults.before(ApplyFaults.Op.UNDO_SYNC);
        } catch (IOException e) {
            throw syncFailed("undo log", e);
        }
        undo.sync();
    }

    /** fdatasync of the replica; any failure is a failed sync (see {@link SyncFailedException}). */
    private void forceReplica() throws IOException {
        try {
            faults.before(ApplyFaults.Op.REPLICA_SYNC);
            replica.force();
        } catch (IOException e) {
            throw syncFailed("replica " + replica.path(), e);
        }
    }

    private static SyncFailedException syncFailed(String what, IOException cause) {
        if (cause instanceof SyncFailedException s) {
            return s;
        }
        SyncFailedException s = new SyncFailedException("fdatasync of " + what + " failed: " + cause.getMessage());
        s.initCause(cause);
        return s;
    }

    private static void await(Future<?> f) throws IOException {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while the audit log or the replica was synced");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException("audit log or replica sync: " + c, c);
        }
    }

    /** Appends {@code r}'s entry; {@code digest} is its payload's SHA-256 (a WRITE), else {@code null}. */
    private void auditRecord(CaptureRecord r, byte[] digest) throws IOException {
        AuditType type = switch (r.kind()) {
            case GAP -> AuditType.GAP;
            case MARK -> AuditType.MARK;
            default -> AuditType.RECORD;
        };
        Provenance p = r.provenance();
        // The tag in hex, unsigned, as tshark and the clients show an NBD cookie or an iSCSI task tag (probe U D4:
        // a cookie of 0xffffffffffffffff read "tag=-1").
        String who = p.bus() + " " + p.initiator() + " -> " + p.target() + " tag=0x" + Long.toHexString(p.tag());
        String detail = r.kind().changesData() || r.kind() == RecordKind.FLUSH ? flagsText(r.flags()) : r.text();
        audit.append(type, r.sequence(), r.captureTimeNanos(), r.offsetBytes(), r.lengthBytes(), r.kind().wireValue(),
                p.opcode(), digest, who, detail);
    }

    /**
     * The host's command flags an auditor reads in a data record's detail: {@code FUA} (its
     * durability request), {@code NO_HOLE}; empty for none (no string made for most records).
     */
    static String flagsText(int flags) {
        if (flags == 0) {
            return "";
        }
        boolean fua = (flags & io.tapline.log.CaptureRecord.FLAG_FUA) != 0;
        boolean noHole = (flags & io.tapline.log.CaptureRecord.FLAG_NO_HOLE) != 0;
        return fua && noHole ? "FUA NO_HOLE" : fua ? "FUA" : noHole ? "NO_HOLE" : "";
    }

    /**
     * Stops the audit and sync threads (the caller settled every staged group and closes the
     * files). The sync thread is not interrupted: an interrupted {@code force} would close the
     * replica's channel under its owner.
     */
    @Override
    public void close() {
        auditThread.shutdownNow();
        syncThread.shutdown();
        try {
            // A group abandoned by an interrupted apply thread may still be syncing: let it end
            // before the owner closes the files under it.
            if (!syncThread.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS)) {
                log.warn("volume={} replica sync still running at close", volumeId);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
