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
 * The audit entries of the batch (with the SHA-256 of each WRITE payload) are built, appended
 * and synced on a second thread while the replica is written and synced: the two files do not
 * depend on each other, and recovery already undoes records that reached the audit log but not
 * {@code applied.state}. Entries stay in sequence order (one task per batch, one thread), and
 * the batch is not reported applied until the audit sync finished.
 *
 * <p>Contiguous WRITEs are gathered into one pwrite of up to {@link #GATHER_BYTES}; any other
 * kind, a gap in offsets, or FUA first writes what was gathered, so the replica sees the
 * records' bytes in sequence order.
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

    /** What the batch changed. */
    record Outcome(boolean dirty, SyncState sync, long bytes) {
    }

    private final String volumeId;
    private final VolumeFile replica;
    private final UndoLog undo;
    private final MarkIndex marks;
    private final AuditLog audit;
    private final ExecutorService auditThread;
    private final ApplyFaults faults;
    private final ZeroInSteps zeroInSteps;
    private final ByteBuffer gather = ByteBuffer.allocateDirect(GATHER_BYTES);
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
    }

    /** Applies {@code fresh} (in sequence order, none applied yet); durable on return. */
    Outcome apply(List<CaptureRecord> fresh, SyncState sync, long lastApplied) throws IOException {
        // Before-images first, durable before the first byte of the batch reaches the replica. A
        // long TRIM/WRITE_ZEROES ends that step: it is applied in bounded steps of its own
        // (ZeroInSteps), and the records after it take their before-images after it.
        int cut = nextLongZero(fresh, 0);
        appendBeforeImages(fresh.subList(0, cut));
        Future<?> audited = auditThread.submit(() -> {
            for (CaptureRecord r : fresh) {
                auditRecord(r);
            }
            audit.sync();
            return null;
        });
        Outcome outcome = outcome(fresh, sync, lastApplied);
        try {
            writeReplica(fresh.subList(0, cut));
            while (cut < fresh.size()) {
                flushGathered(); // later before-images read what was written
                CaptureRecord r = fresh.get(cut);
                if (ZeroInSteps.takes(r)) {
                    zeroInSteps.apply(r);
                    if (r.fua()) {
                        forceReplica();
                    }
                    cut++;
                } else {
                    int next = nextLongZero(fresh, cut);
                    appendBeforeImages(fresh.subList(cut, next));
                    writeReplica(fresh.subList(cut, next));
                    cut = next;
                }
            }
            flushGathered();
            if (outcome.dirty()) {
                forceReplica();
            }
        } catch (IOException | RuntimeException e) {
            try {
                await(audited);
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        await(audited);
        return outcome;
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
        BeforeImages.append(replica, records, undo);
        faults.before(ApplyFaults.Op.UNDO_APPEND);
        syncUndo();
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
            }
        }
        return new Outcome(dirty, sync, bytes);
    }

    /** Writes {@code records} (their before-images are durable); the caller flushes what is gathered. */
    private void writeReplica(List<CaptureRecord> records) throws IOException {
        for (CaptureRecord r : records) {
            if (r.kind() == RecordKind.WRITE && !r.fua()) {
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
                    case FLUSH -> forceReplica();
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
                if (r.kind().changesData() && r.fua()) {
                    forceReplica();
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
            throw new InterruptedIOException("interrupted while the audit log was written");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException("audit log: " + c, c);
        }
    }

    private void auditRecord(CaptureRecord r) throws IOException {
        AuditType type = switch (r.kind()) {
            case GAP -> AuditType.GAP;
            case MARK -> AuditType.MARK;
            default -> AuditType.RECORD;
        };
        Provenance p = r.provenance();
        String who = p.bus() + " " + p.initiator() + " -> " + p.target() + " tag=" + p.tag();
        String detail = r.kind().changesData() || r.kind() == RecordKind.FLUSH ? "" : r.text();
        audit.append(type, r.sequence(), r.captureTimeNanos(), r.offsetBytes(), r.lengthBytes(), r.kind().wireValue(),
                p.opcode(), r.kind() == RecordKind.WRITE ? audit.digest(r.payload()) : null, who, detail);
    }

    /** Stops the audit thread (the caller closes the files). */
    @Override
    public void close() {
        auditThread.shutdownNow();
    }
}
