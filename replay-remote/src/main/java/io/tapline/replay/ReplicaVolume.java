package io.tapline.replay;

import io.tapline.journey.JourneyMessage;
import io.tapline.journey.JourneyProtocolException;
import io.tapline.log.CaptureRecord;
import io.tapline.log.audit.AuditLog;
import io.tapline.log.audit.AuditType;
import io.tapline.log.undo.MarkIndex;
import io.tapline.log.undo.UndoConfig;
import io.tapline.log.undo.UndoLog;
import io.tapline.log.volume.ImageStamp;
import io.tapline.log.volume.VolumeFile;
import io.tapline.log.volume.VolumeSizeMismatchException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replicated volume on the replayer: {@code replica.img}, {@code volume.meta} and
 * {@code applied.state} in {@code <data>/<volumeId>/}, and the rule that applies batches.
 *
 * <p>Ordering contract: records are applied strictly in sequence. A record at or below the last
 * applied sequence is skipped (its CRC was checked when the batch was unpacked); the next one is
 * applied; anything further is a hole and the batch is rejected before any byte lands. Example:
 * last applied 10, batch 9..12 skips 9 and 10, applies 11 and 12; batch 12..13 is rejected.
 *
 * <p>Durability contract: {@link #apply} returns only after the replica was fdatasync'd and the
 * new last-applied sequence was persisted, so the ACK that follows promises stable storage.
 *
 * <p>Rollback contract: before a batch touches the replica, the before-image of every record
 * in it is appended to the undo log ({@code undo/}) and the undo log is fdatasync'd (see
 * {@link UndoLog} for the worked example). Opening a volume first finishes an interrupted
 * rollback ({@code rollback.intent}), then undoes any record above the durable applied sequence
 * (a batch half-applied when the replayer died), so the replica is always exactly at a
 * sequence. After a rollback the volume is paused ({@code paused}) until an administrator
 * resumes it.
 *
 * <p>Failure contract: a group or a rollback that fails part-way (EIO, ENOSPC, a damaged undo
 * record) leaves the files disagreeing, so the volume is marked broken with a {@link VolumeFailure}
 * and applies nothing more; {@link VolumeHost} closes it and opens it again, and the recovery
 * above makes it exactly a sequence again (a failed fdatasync waits for a restart instead).
 *
 * <p>Not thread-safe: every method runs on the volume's own apply thread; {@link #status} reads
 * volatile fields from any thread.
 */
final class ReplicaVolume implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(ReplicaVolume.class);
    static final String REPLICA_FILE = "replica.img";
    /**
     * The replica image's close-time stamp ({@link ImageStamp}): written at a clean close (not
     * after a promotion, when the node itself serves the image read-write), checked and removed at
     * the next open. A difference means another program wrote the image meanwhile (a mount of
     * its file system replays the journal, even with -o ro, through a read-write loop device): out of
     * sync with no consistent point.
     */
    static final String STAMP_FILE = "replica.stamp";
    /**
     * Before-images are read with the kernel's readahead off ({@link VolumeFile#turnReadaheadOff}):
     * in {@code bench/rpo.sh} with the wedge's {@code --primary-cache none}, the replication lag's
     * p99 fell from 144-215 ms to 20-89 ms.
     * {@code -Dtapline.replica.beforeImagesWithoutReadahead=false} reads them through the page
     * cache's readahead as before: 12 % faster in {@code bench/apply_path.sh}, whose overwrite pass
     * writes into the single-page folios its first pass left by reading holes without readahead
     * (docs/benchmarks.md#before-image-readahead).
     */
    static final String BEFORE_IMAGES_WITHOUT_READAHEAD = "tapline.replica.beforeImagesWithoutReadahead";

    private final String volumeId;
    private final VolumeMeta meta;
    private final VolumeFile replica;
    private final AppliedState state;
    private final AtomicLong bytesApplied = new AtomicLong();
    private final Path dir;
    /**
     * Whether a segment undo retention drops is reused as the next new one (docs/formats.md, "Reuse";
     * {@code -Dtapline.undo.recycleSegments=off} deletes every dropped segment, for comparison).
     */
    static final boolean RECYCLE_UNDO_SEGMENTS = !"off".equals(System.getProperty("tapline.undo.recycleSegments", "on"));

    private final UndoLog undo;
    private final MarkIndex marks;
    private final AuditLog audit;
    private final BatchApply batchApply;
    private final ChunkWrites chunkWrites;
    private final ReplicaHasher hasher = new ReplicaHasher();
    private volatile long lastApplied;
    private volatile SyncState sync;
    /** Apply thread: the last sequence and sync state staged (ahead of the durable ones while a group is staged). */
    private long stagedLast;
    private SyncState stagedSync;
    /** Apply thread: groups staged and not yet completed or abandoned (at most two). */
    private int staged;
    /** Apply thread: CRC-32C of the last record of the last completed group. */
    private long completedCrc = -1;
    private volatile VolumeFailure failure;
    private volatile String pausedReason;
    private volatile ApplyObserver observer = ApplyObserver.NONE;
    private volatile UndoLog.Window window;
    /** A group or a rollback failed part-way: the files must be reopened (recovered) before any further use. */
    private volatile boolean broken;
    private boolean closed;
    /** Promoted ({@link #auditPromotion}): the caller closes it and serves the image read-write. */
    private volatile boolean promoted;
    /** The image's stamp is on disk: taken while idle, removed before the replayer writes again (apply thread). */
    private boolean stampedWhileIdle;
    /** Groups staged so far; an idle look that sees the same number twice finds the replica idle (apply thread). */
    private long groupsStaged;
    private long groupsAtLastIdleLook = -1;
    /** Apply thread: writes to the image by another program while it is open. */
    private final OutsideWrites outsideWrites;
    /** Apply thread: an outside change noticed while a group was staged, marked once none is. */
    private String outsideChangePending;

    private ReplicaVolume(String volumeId, VolumeMeta meta, VolumeFile replica, AppliedState state, Path dir,
            UndoLog undo, MarkIndex marks, AuditLog audit, ApplyFaults faults) {
        this.volumeId = volumeId;
        this.meta = meta;
        this.replica = replica;
        this.state = state;
        this.dir = dir;
        this.undo = undo;
        this.marks = marks;
        this.audit = audit;
        this.batchApply = new BatchApply(volumeId, replica, undo, marks, audit, faults);
        this.lastApplied = state.lastApplied();
        this.sync = state.sync();
        this.stagedLast = lastApplied;
        this.stagedSync = sync;
        this.chunkWrites = new ChunkWrites(meta.volumeSizeBytes(), lastApplied);
        this.outsideWrites = new OutsideWrites(dir.resolve(REPLICA_FILE));
    }

    /**
     * Opens the volume for {@code hello}, creating it when its directory has no metadata yet.
     *
     * @throws RefusedException when the volume exists with another size, block size or source
     */
    static ReplicaVolume open(Path dataDir, JourneyMessage.Hello hello, UndoConfig undoConfig)
            throws IOException, RefusedException {
        return open(dataDir, hello, undoConfig, ApplyFaults.NONE);
    }

    /** {@link #open(Path, JourneyMessage.Hello, UndoConfig)} with a fault-injection seam (tests). */
    static ReplicaVolume open(Path dataDir, JourneyMessage.Hello hello, UndoConfig undoConfig, ApplyFaults faults)
            throws IOException, RefusedException {
        Path dir = dataDir.resolve(hello.volumeId());
        Files.createDirectories(dir);
        RollbackLock.createFile(dir);
        VolumeMeta existing = VolumeMeta.read(dir);
        VolumeMeta wanted = new VolumeMeta(hello.volumeSizeBytes(), hello.blockSizeBytes(), hello.sourceId());
        if (existing != null) {
            checkSame(hello, existing);
        }
        // An image already there without metadata (a node adopting its old primary as a replica,
        // or a crash before the metadata was written) holds unknown data: out of sync, no
        // consistent point, so the first resync compares all of it.
        Path image = dir.resolve(REPLICA_FILE);
        boolean adopted = existing == null && Files.exists(image) && Files.size(image) > 0;
        String changedOutside = existing == null ? null : ImageStamp.changedSince(dir.resolve(STAMP_FILE), image);
        if (existing != null) {
            String resized = restoreSize(image, existing.volumeSizeBytes());
            changedOutside = resized == null ? changedOutside
                    : changedOutside == null ? resized : changedOutside + "; " + resized;
        }
        VolumeFile replica;
        try {
            replica = VolumeFile.openOrCreate(image, hello.volumeSizeBytes());
        } catch (VolumeSizeMismatchException e) {
            throw new RefusedException("volume size mismatch: " + e.getMessage());
        }
        if (!"false".equals(System.getProperty(BEFORE_IMAGES_WITHOUT_READAHEAD)) && !replica.turnReadaheadOff()) {
            log.warn("volume={} {}: readahead cannot be turned off here; before-images read as before",
                    hello.volumeId(), BEFORE_IMAGES_WITHOUT_READAHEAD);
        }
        try {
            AppliedState state = AppliedState.open(dir);
            UndoLog undo;
            try {
                if (existing == null) {
                    if (adopted) {
                        state.persist(0, SyncState.writtenElsewhere(0));
                    }
                    replica.force();
                    wanted.write(dir); // last: the volume exists once its metadata does
                    log.info("volume created volume={} sizeBytes={} blockSizeBytes={} source={} dir={}",
                            hello.volumeId(), hello.volumeSizeBytes(), hello.blockSizeBytes(), hello.sourceId(), dir);
                }
                undo = openUndo(dir, hello.volumeId(), undoConfig);
            } catch (IOException | RuntimeException e) {
                state.close(); // a source retries every few seconds: each failed open leaked this file (probe V D2)
                throw e;
            }
            AuditLog audit = null;
            ReplicaVolume volume;
            try {
                audit = AuditLog.open(dir);
                volume = new ReplicaVolume(hello.volumeId(), wanted, replica, state, dir, undo,
                        MarkIndexRecovery.open(dir, hello.volumeId(), state.lastApplied(), audit),
                        audit, faults);
                if (existing == null) {
                    audit.append(AuditType.CONFIG, 0, 0, 0, hello.volumeSizeBytes(), 0, 0, null, hello.sourceId(),
                            "volume created: sizeBytes=" + hello.volumeSizeBytes() + " blockSizeBytes="
                                    + hello.blockSizeBytes() + " source=" + hello.sourceId());
                    audit.sync();
                }
                volume.recover();
                if (changedOutside != null) {
                    volume.changedOutside("was changed while the replayer did not hold it (" + changedOutside + ")");
                }
                ImageStamp.remove(dir.resolve(STAMP_FILE)); // the replica is written by this replayer again
                Files.deleteIfExists(dir.resolve(FAILED_FILE)); // an earlier run's failure: this open undid it
                volume.outsideWrites.ownWritesDone();
            } catch (IOException | RuntimeException e) {
                undo.close();
                state.close();
                if (audit != null) {
                    audit.close();
                }
                throw e;
            }
            log.info("volume opened volume={} lastApplied={} sync={}", hello.volumeId(), volume.lastApplied,
                    volume.sync);
            return volume;
        } catch (IOException | RuntimeException e) {
            replica.close();
            throw e;
        }
    }

    /** The volume's undo log; a failure while a rollback was under way names that rollback. */
    private static UndoLog openUndo(Path dir, String volumeId, UndoConfig undoConfig) throws IOException {
        try {
            UndoLog undo = UndoLog.open(dir.resolve("undo"), undoConfig, Clock.systemUTC());
            if (RECYCLE_UNDO_SEGMENTS) {
                undo.recycleSegmentsWhen(() -> RollbackLock.noImageBeingMade(dir));
            }
            return undo;
        } catch (IOException e) {
            ControlFiles intent = ControlFiles.read(dir, ControlFiles.INTENT);
            if (intent != null) {
                throw new IOException(VolumeFailure.rollback(volumeId, intent, e).reason(), e);
            }
            throw e;
        }
    }

    /**
     * What another program did to the volume's replica image while no replayer held it, as the
     * next open would find it (a size other than the volume's, a missing image, a stamp that no
     * longer matches), or null. Reads only; for status from the files.
     */
    static String changedWhileNotHeld(Path volumeDir) throws IOException {
        VolumeMeta meta = VolumeMeta.read(volumeDir);
        Path image = volumeDir.resolve(REPLICA_FILE);
        if (meta == null) {
            return null;
        }
        long size = imageSize(image);
        if (size == MISSING) {
            return "is missing";
        }
        if (size != A_DEVICE && size != meta.volumeSizeBytes()) {
            return "is " + size + " bytes (expected: " + meta.volumeSizeBytes() + ")";
        }
        String changed = ImageStamp.changedSince(volumeDir.resolve(STAMP_FILE), image);
        return changed == null ? null : "was changed (" + changed + ")";
    }

    /**
     * For a volume no replayer holds: the newest sequence its undo log holds above
     * {@code lastApplied} (records of a group a crash interrupted, which the next open undoes, as
     * {@link #recover} does), or 0 when there is none or the log cannot be read.
     */
    static long undoneAtNextOpen(Path volumeDir, long lastApplied) {
        try (UndoLog undo = UndoLog.openReadOnly(volumeDir.resolve("undo"))) {
            long newest = undo.newestSequence();
            return newest > lastApplied ? newest : 0;
        } catch (IOException | RuntimeException e) {
            return 0; // a damaged log is reported by the replayer's open, not here
        }
    }

    /** {@link #imageSize} of a missing image, and of a device (whose size is the device's, never wrong). */
    private static final long MISSING = -1;
    private static final long A_DEVICE = -2;

    private static long imageSize(Path image) throws IOException {
        return !Files.exists(image) ? MISSING : !Files.isRegularFile(image) ? A_DEVICE : Files.size(image);
    }

    /**
     * A replica image another program truncated, extended or removed while no replayer held it is
     * brought back to the volume's size (sparse; its lost tail reads as zeroes), durably, so that
     * the volume opens and the change is handled as any outside write: out of sync, and the whole
     * volume compared by the next resync. Returns what was found, or null when the size was right.
     */
    private static String restoreSize(Path image, long sizeBytes) throws IOException {
        long found = imageSize(image);
        if (found == sizeBytes || found == A_DEVICE) {
            return null;
        }
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(image,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
            if (found > sizeBytes) {
                ch.truncate(sizeBytes);
            } else {
                ch.write(java.nio.ByteBuffer.allocate(1), sizeBytes - 1);
            }
            ch.force(true);
        }
        io.tapline.log.DurableFiles.syncDirectory(image.getParent());
        return found == MISSING ? "the image was missing: made again, empty, at " + sizeBytes + " bytes"
                : "its size was " + found + " bytes (expected: " + sizeBytes + "): brought back to " + sizeBytes;
    }

    /**
     * Opens a volume that exists on disk, for an administrator's request arriving before any
     * source connected in this run.
     *
     * @throws RefusedException when the volume does not exist
     */
    static ReplicaVolume openExisting(Path dataDir, String volumeId, UndoConfig undoConfig)
            throws IOException, RefusedException {
        return openExisting(dataDir, volumeId, undoConfig, ApplyFaults.NONE);
    }

    static ReplicaVolume openExisting(Path dataDir, String volumeId, UndoConfig undoConfig, ApplyFaults faults)
            throws IOException, RefusedException {
        VolumeMeta meta = VolumeMeta.read(dataDir.resolve(volumeId));
        if (meta == null) {
            throw new RefusedException("no volume " + volumeId + " in " + dataDir);
        }
        return open(dataDir, new JourneyMessage.Hello(io.tapline.journey.JourneyProtocol.VERSION, meta.sourceId(),
                volumeId, meta.volumeSizeBytes(), meta.blockSizeBytes(), ""), undoConfig, faults);
    }

    private void recover() throws IOException {
        ControlFiles intent = ControlFiles.read(dir, ControlFiles.INTENT);
        if (intent != null) {
            log.warn("volume={} finishing an interrupted rollback from={} to={} actor={}", volumeId, intent.from(),
                    intent.target(), intent.text());
            try {
                finishRollback(intent, (d, t) -> { }, true);
            } catch (IOException | RuntimeException e) {
                throw new IOException(VolumeFailure.rollback(volumeId, intent, e).reason(), e);
            }
        } else if (undo.newestSequence() > lastApplied || audit.lastRecordSequence() > lastApplied) {
            // An image being made needs the undo records this removes (a failed group healed at run time).
            try (RollbackLock held = RollbackLock.forRecovery(dir, volumeId)) {
                long n = undo.rollBackAbove(lastApplied, applier(), (d, t) -> { });
                audit.append(AuditType.RECOVERY, Math.max(undo.newestSequence(), audit.lastRecordSequence()),
                        lastApplied, 0, 0, 0, 0, null, "replayer", "records above the durable applied sequence "
                                + lastApplied + " undone after a crash or a failed group (" + n + " undo records)");
                audit.sync();
                log.warn("volume={} undid {} records above the durable applied sequence {} (a group interrupted by a"
                        + " crash or an I/O error)", volumeId, n, lastApplied);
                undo.deleteRetired();
            } catch (RefusedException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
        ControlFiles paused = ControlFiles.read(dir, ControlFiles.PAUSED);
        pausedReason = paused == null ? null : paused.text();
        window = undo.window();
    }

    /** Why sources are refused, or null when the volume is not paused. */
    String pausedReason() {
        return pausedReason;
    }

    /** The rollback window as of the last applied batch. */
    UndoLog.Window window() {
        return window;
    }

    MarkIndex marks() {
        return marks;
    }

    /** Resolves a rollback target and checks that it lies inside the window. */
    long resolveTarget(int targetKind, long value, String markName) throws RefusedException {
        if (targetKind == JourneyMessage.AdminRequest.TO_LAST_CONSISTENT) {
            long target = sync.consistentSequence();
            RollbackTargets.checkReachable(volumeId, target, undo.window(), lastApplied, sync.exactFrom());
            return target;
        }
        return RollbackTargets.resolveReachable(volumeId, targetKind, value, markName, undo, marks, lastApplied,
                lastApplied, sync.exactFrom());
    }

    /**
     * Rolls the replica back to {@code target} (already checked), crash-safe, and pauses the
     * volume. On the apply thread.
     *
     * @throws RefusedException while a point-in-time image of the volume is being made ({@link RollbackLock})
     */
    long rollback(long target, String actor, UndoLog.Progress progress) throws IOException, RefusedException {
        checkUsable();
        checkNothingStaged();
        checkOutsideWrites();
        unstampBeforeWriting();
        try (RollbackLock held = RollbackLock.forRollback(dir, volumeId)) {
            return rollbackLocked(target, actor, progress);
        } finally {
            outsideWrites.ownWritesDone();
        }
    }

    private long rollbackLocked(long target, String actor, UndoLog.Progress progress) throws IOException {
        ControlFiles intent = new ControlFiles(target, lastApplied, System.currentTimeMillis(), actor);
        intent.write(dir, ControlFiles.INTENT);
        log.info("volume={} rollback started from={} to={} actor={}", volumeId, lastApplied, target, actor);
        try {
            return finishRollback(intent, progress, false);
        } catch (IOException | RuntimeException e) {
            // Half rolled back: no source may apply on top of it, and retention must not drop the
            // undo records the intent still needs. Reopening the files finishes it (recover()).
            VolumeFailure f = VolumeFailure.rollback(volumeId, intent, e);
            setFailure(f);
            pausedReason = f.reason();
            broken = true;
            log.error("volume={} {}", volumeId, f.reason());
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(f.reason(), e);
        }
    }

    /**
     * Sets why the volume failed (null: it applies again) and keeps the reason in {@link #FAILED_FILE}
     * beside the replica while it lasts, for {@code tapline status --data} in another process (the
     * replayer's own status reads it live). Written only when the reason changes; a write that fails
     * costs only that view.
     */
    private void setFailure(VolumeFailure f) {
        VolumeFailure before = failure;
        failure = f;
        if (f == null ? before == null : before != null && before.reason().equals(f.reason())) {
            return;
        }
        if (f == null) {
            try {
                Files.deleteIfExists(dir.resolve(FAILED_FILE));
            } catch (IOException e) {
                log.debug("volume={} {} not removed: {}", volumeId, FAILED_FILE, e.toString());
            }
        } else {
            keepFailure(dir, f.reason());
        }
    }

    /** Keeps {@code reason} as this volume's {@link #FAILED_FILE} (a feeder's stop: the volume itself is sound). */
    void keepFailure(String reason) {
        keepFailure(dir, reason);
    }

    /** Removes what {@link #keepFailure(String)} kept, unless the volume itself is failed. */
    void clearKeptFailure() {
        if (failure == null) {
            try {
                Files.deleteIfExists(dir.resolve(FAILED_FILE));
            } catch (IOException e) {
                log.debug("volume={} {} not removed: {}", volumeId, FAILED_FILE, e.toString());
            }
        }
    }

    /** Writes {@code reason} as {@code volumeDir}'s {@link #FAILED_FILE}; a write that fails costs only that view. */
    static void keepFailure(Path volumeDir, String reason) {
        try {
            if (Files.isDirectory(volumeDir)) {
                Files.writeString(volumeDir.resolve(FAILED_FILE), (reason == null ? "failed" : reason).replace('\n', ' ')
                        + "\n");
            }
        } catch (IOException e) {
            log.debug("{} not written in {}: {}", FAILED_FILE, volumeDir, e.toString());
        }
    }

    /** Why the running replayer's volume failed, while it is failed (see {@link #setFailure}). */
    static final String FAILED_FILE = "failed";

    /**
     * A status read from {@code volumeDir}'s files, as {@code status --data} and {@code window} say
     * it: failed with the reason a running replayer keeps ({@link #FAILED_FILE}); with none running,
     * left mid-group when the undo log holds records above the applied sequence
     * ({@code newestUndone}, asked only then).
     */
    static VolumeStatus seenFromFiles(VolumeStatus s, Path volumeDir, boolean replayerRuns,
            java.util.function.LongSupplier newestUndone) {
        if (replayerRuns) {
            String failed = failedReason(volumeDir);
            if (failed == null && readOnlyFileSystem(volumeDir)) {
                // A file system remounted read-only after an I/O error cannot take the failed marker either:
                // its files still said consistent while the replayer failed every open (probe O O2).
                failed = "the replica's file system is read-only (remounted after an I/O error?): the replayer can"
                        + " neither apply nor record why";
            }
            return failed == null ? s : s.failed(failed); // the running replayer's view, which its files do not hold
        }
        if (VolumeStatus.PAUSED.equals(s.state())) {
            return s;
        }
        long newest = newestUndone.getAsLong();
        return newest > s.lastAppliedSequence() ? s.interrupted(newest) : s;
    }

    private static boolean readOnlyFileSystem(Path volumeDir) {
        try {
            return Files.getFileStore(volumeDir).isReadOnly();
        } catch (IOException e) {
            return false; // cannot tell: the files' own view stands
        }
    }

    /** The reason a replayer left in {@code volumeDir} while its volume was failed, or null. */
    static String failedReason(Path volumeDir) {
        try {
            Path f = volumeDir.resolve(FAILED_FILE);
            return Files.exists(f) ? Files.readString(f).strip() : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether the files must be reopened (a failed group or rollback) before the volume is used again. */
    boolean broken() {
        return broken;
    }

    /** Why the volume is failed, or null. */
    VolumeFailure failure() {
        return failure;
    }

    /**
     * A volume reopened after {@code failed} broke: status keeps saying {@code failed} with the
     * earlier reason until a group applies (a completed rollback pauses the volume instead).
     */
    void failedBefore(ReplicaVolume failed) {
        VolumeFailure f = failed.failure;
        if (pausedReason == null && f != null && f.kind() == VolumeFailure.Kind.APPLY) {
            setFailure(f);
        }
    }

    /** Reopening failed too: status says so until an attempt succeeds. */
    void healFailed(Exception e) {
        VolumeFailure f = failure;
        if (f != null && f.kind() == VolumeFailure.Kind.ROLLBACK && e.getMessage() != null
                && e.getMessage().contains("half rolled back")) {
            setFailure(new VolumeFailure(VolumeFailure.Kind.ROLLBACK, e.getMessage())); // names the rollback already
            return;
        }
        setFailure((f == null ? new VolumeFailure(VolumeFailure.Kind.APPLY, "failed") : f).reopenFailed(e));
    }

    private void checkUsable() throws IOException {
        if (broken) {
            throw new IOException("volume " + volumeId + " must be reopened first: " + failure.reason());
        }
    }

    private void checkNothingStaged() {
        if (staged != 0) {
            throw new IllegalStateException("volume " + volumeId + ": " + staged + " group(s) staged and not completed");
        }
    }

    /** @param resumed completed at an open, after a crash or a failure interrupted it (earlier work not counted) */
    private long finishRollback(ControlFiles intent, UndoLog.Progress progress, boolean resumed) throws IOException {
        long n = undo.rollBackAbove(intent.target(), applier(), progress);
        replica.force();
        // A rollback to the applied sequence changes no byte but pauses the volume: audited too, so
        // that the log says who stopped its replication and when.
        if (audit.lastRecordSequence() > intent.target() || intent.from() == intent.target()) {
            audit.append(AuditType.ROLLBACK, intent.from(), intent.target(), 0, 0, 0, 0, null, intent.text(),
                    "rollback from seq " + intent.from() + " to seq " + intent.target() + " requested at "
                            + java.time.Instant.ofEpochMilli(intent.millis()) + " (" + n + " undo records applied"
                            + (resumed ? " by the restart that completed it, after an interruption" : "") + ")");
            audit.sync();
        }
        marks.dropAbove(intent.target());
        SyncState after = sync.rolledBackTo(intent.target());
        state.persist(intent.target(), after);
        sync = after;
        lastApplied = intent.target();
        chunkWrites.reset(intent.target());
        String reason = "volume " + volumeId + " rolled back to seq " + intent.target() + "; resume with `tapline resume`"
                + " (the source then re-sends or resyncs what the replica lacks)";
        new ControlFiles(intent.target(), intent.from(), intent.millis(), reason).write(dir, ControlFiles.PAUSED);
        ControlFiles.delete(dir, ControlFiles.INTENT);
        pausedReason = reason;
        window = undo.window();
        log.info("volume={} rollback done from={} to={} undoRecords={} actor={}; volume paused", volumeId,
                intent.from(), intent.target(), n, intent.text());
        undo.deleteRetired(); // after this rollback's own syncs, while the volume is paused
        return n;
    }

    /** CRC-32C (unsigned) of the last applied record, {@code -1} when unknown (after a rollback). */
    long lastRecordCrc() {
        // While a later group is staged its applied.state may already be written on the sync thread.
        return staged == 0 ? state.lastRecordCrc() : completedCrc;
    }

    /**
     * On the apply thread: the source found the replica's last record is not its own (another
     * source wrote it): out of sync with no consistent point (durably, audited), so the next
     * resync compares the whole volume.
     */
    void diverged(io.tapline.journey.control.SourceDiverged d) throws IOException {
        writtenElsewhere(AuditType.VERIFY, d.atSequence(), "source", d.reason());
        log.error("volume={} {}: out of sync until a whole-volume resync", volumeId, d.reason());
    }

    /**
     * On the apply thread, no group staged: another program changed the image ({@code what}: when
     * and how): out of sync with no consistent point (durably, audited), so the next resync
     * compares the whole volume.
     */
    private void changedOutside(String what) throws IOException {
        String reason = "replica image " + dir.resolve(REPLICA_FILE) + " " + what
                + "; out of sync until a whole-volume resync";
        writtenElsewhere(AuditType.VERIFY, lastApplied, "replayer", reason);
        log.error("volume={} {}", volumeId, reason);
    }

    /**
     * The replica holds data written outside the log: out of sync with no consistent point
     * (durably), its per-chunk write sequences restarted, and the audit entry that says why.
     */
    private void writtenElsewhere(AuditType type, long auditSequence, String who, String detail) throws IOException {
        SyncState after = SyncState.writtenElsewhere(lastApplied);
        state.persist(lastApplied, after);
        sync = after;
        chunkWrites.reset(lastApplied);
        audit.append(type, auditSequence, 0, 0, 0, 0, 0, null, who, detail);
        audit.sync();
    }

    /**
     * On the apply thread: whether another program changed the image since the replayer's own last
     * writes; marks the replica out of sync when so and no group is staged (else at the next
     * check with none). Called before each group and each rollback, and once a second by the
     * volume's host while it is idle.
     *
     * @return whether the replica's state changed (the caller tells its source)
     */
    boolean checkOutsideWrites() throws IOException {
        if (VolumeHost.OUTSIDE_WRITES_CHECK_MILLIS == 0) {
            return false;
        }
        String what = outsideWrites.sinceOwnWrites();
        if (what != null && outsideChangePending == null) {
            outsideChangePending = what;
        }
        if (outsideChangePending == null || staged != 0) {
            return false;
        }
        String pending = outsideChangePending;
        outsideChangePending = null;
        if (sync.outOfSync() && !sync.resyncing() && sync.consistentSequence() == 0) {
            // Already waiting for a whole-volume resync, and none under way that this could spoil; but
            // rollbacks to the records applied since the last change are no longer exact.
            log.warn("volume={} replica image {} changed again by another program ({}); still out of sync", volumeId,
                    dir.resolve(REPLICA_FILE), pending);
            if (sync.exactFrom() <= lastApplied) {
                SyncState after = sync.writtenOutsideAfter(lastApplied);
                state.persist(lastApplied, after);
                sync = after;
            }
            return false;
        }
        changedOutside("was changed by another program while the replayer held it open (" + pending + ")");
        if (OutsideWrites.detached(pending)) {
            // The open file is not the image at the path any more (or not at the volume's size):
            // reopened from the files, which makes the image again at its size, before any write.
            broken = true;
            setFailure(new VolumeFailure(VolumeFailure.Kind.IMAGE, "replica image " + dir.resolve(REPLICA_FILE)
                    + " " + pending + " while the replayer held it: reopened from its files when the source"
                    + " reconnects, out of sync until a whole-volume resync"));
            log.error("volume={} {}", volumeId, failure.reason());
        }
        return true;
    }

    /**
     * On the apply thread, once a second from the volume's host: a replica idle since the last look
     * gets its image stamped on disk, as at a clean close, so that a replayer killed (or a machine
     * that lost power) while idle still tells at its next open whether another program wrote the
     * image meanwhile. The stamp is removed before the replayer writes again
     * ({@link #unstampBeforeWriting}): one killed while writing leaves none, and its next open
     * cannot tell (docs/formats.md).
     */
    void stampWhileIdle() {
        boolean idle = staged == 0 && groupsStaged == groupsAtLastIdleLook;
        groupsAtLastIdleLook = groupsStaged;
        if (!idle || stampedWhileIdle || promoted || closed || broken || outsideChangePending != null) {
            return;
        }
        try {
            ImageStamp.write(dir.resolve(STAMP_FILE), dir.resolve(REPLICA_FILE));
            stampedWhileIdle = true;
        } catch (IOException e) {
            log.debug("volume={} idle stamp not written: {}", volumeId, e.toString());
        }
    }

    /** Removes an idle stamp, durably, before the replayer's own next write of the image. */
    private void unstampBeforeWriting() throws IOException {
        if (stampedWhileIdle) {
            ImageStamp.remove(dir.resolve(STAMP_FILE));
            stampedWhileIdle = false;
        }
    }

    /** After the image's close: its stamp for the next open (none once promoted); a failure only costs that check. */
    private void stampAtClose() {
        try {
            if (promoted) {
                ImageStamp.remove(dir.resolve(STAMP_FILE));
            } else {
                ImageStamp.write(dir.resolve(STAMP_FILE), dir.resolve(REPLICA_FILE));
            }
        } catch (IOException e) {
            log.warn("volume={} replica image stamp not written ({}): the next open cannot tell whether another"
                    + " program wrote the image meanwhile", volumeId, e.toString());
        }
    }

    /** Whether the replica is a consistent image of its source at {@link #lastApplied()}. */
    boolean consistent() {
        return sync.consistent();
    }

    /** On the apply thread: audits a promotion (the caller closes the volume and writes the role). */
    void auditPromotion(VolumeRole role, String detail) throws IOException {
        promoted = true; // served read-write from now on: its close leaves no stamp
        replica.force();
        audit.append(AuditType.PROMOTE, lastApplied, 0, 0, 0, 0, 0, null, role.actor(), detail);
        audit.sync();
        log.warn("volume={} promoted to primary generation={} at seq={} actor={}", volumeId, role.generation(),
                lastApplied, role.actor());
    }

    /**
     * On the apply thread, after the volume was served read-write while promoted: marks the
     * replica out of sync with no consistent point (durably), drops the sources' pause, audits
     * the demotion. The next source resyncs the whole volume by chunk checksums.
     */
    void demoted(VolumeRole role, String detail, boolean unchanged) throws IOException {
        if (unchanged) { // the host wrote nothing while it was primary: its state is still the one at promotion
            audit.append(AuditType.DEMOTE, lastApplied, 0, 0, 0, 0, 0, null, role.actor(), detail);
            audit.sync();
            log.info("volume={} demoted to secondary generation={} at seq={} actor={}: nothing was written while"
                    + " primary, still {}", volumeId, role.generation(), lastApplied, role.actor(),
                    sync.consistent() ? "consistent" : "as it was");
            return;
        }
        writtenElsewhere(AuditType.DEMOTE, lastApplied, role.actor(), detail);
        log.warn("volume={} demoted to secondary generation={} at seq={} actor={}: out of sync until resynced",
                volumeId, role.generation(), lastApplied, role.actor());
    }

    /**
     * The feeder found that the records from {@code firstMissing} on are gone for good (a Kafka
     * topic's retention deleted them before this replica read them): the replica is out of sync from
     * there, durably and audited (REFUSED, by {@code who}), so that status tells the truth while it
     * waits for a full resync, whose RESYNC_BEGIN it accepts across the hole.
     */
    void recordsMissing(long firstMissing, String who, String detail) throws IOException {
        checkNothingStaged();
        SyncState after = sync.recordsMissingFrom(firstMissing, lastApplied);
        state.persist(lastApplied, after);
        sync = after;
        audit.append(AuditType.REFUSED, lastApplied, 0, 0, 0, 0, 0, null, who, detail);
        audit.sync();
        log.warn("volume={} records from seq {} missing for good ({}): out of sync, consistent at seq {}, until a"
                + " full resync", volumeId, firstMissing, detail, sync.consistentSequence());
    }

    /** Records a refused peer in the audit log, durably. */
    void auditRefusal(String who, String detail) throws IOException {
        audit.append(AuditType.REFUSED, lastApplied, 0, 0, 0, 0, 0, null, who, detail);
        audit.sync();
    }

    /** Lets sources in again. */
    void resume(String actor) throws IOException {
        ControlFiles.delete(dir, ControlFiles.PAUSED);
        audit.append(AuditType.RESUME, lastApplied, 0, 0, 0, 0, 0, null, actor, "volume resumed at seq " + lastApplied);
        audit.sync();
        pausedReason = null;
        log.info("volume={} resumed at seq={}", volumeId, lastApplied);
    }

    private UndoLog.Applier applier() {
        return GatheringRestorer.of(replica);
    }

    /** Checks that a later HELLO describes the volume this one was created for. */
    void checkSame(JourneyMessage.Hello hello) throws RefusedException {
        checkSame(hello, meta);
    }

    private static void checkSame(JourneyMessage.Hello hello, VolumeMeta meta) throws RefusedException {
        if (meta.volumeSizeBytes() != hello.volumeSizeBytes()) {
            throw new RefusedException("volume size mismatch: volumeSizeBytes: " + hello.volumeSizeBytes()
                    + " (expected: " + meta.volumeSizeBytes() + " as stored for volume " + hello.volumeId() + ")"
                    + (hello.volumeSizeBytes() < meta.volumeSizeBytes() ? "; a replica grows with its source but never"
                    + " shrinks by itself: give the source its size back, or replicate to another data directory" : ""));
        }
        if (meta.blockSizeBytes() != hello.blockSizeBytes()) {
            throw new RefusedException("block size mismatch: blockSizeBytes: " + hello.blockSizeBytes()
                    + " (expected: " + meta.blockSizeBytes() + " as stored for volume " + hello.volumeId() + ")");
        }
        if (!meta.sourceId().equals(hello.sourceId())) {
            throw new RefusedException("source mismatch: sourceId: " + hello.sourceId() + " (expected: "
                    + meta.sourceId() + ", the source volume " + hello.volumeId() + " was created for)");
        }
    }

    /**
     * Checks and applies a batch, makes it durable, and returns the new last applied sequence.
     *
     * @throws JourneyProtocolException when the batch is damaged, of another volume, or leaves a
     *         hole in the sequence; nothing was written then
     * @throws IOException when the replica or the state file cannot be written
     */
    long apply(JourneyMessage.Batch batch) throws IOException {
        long[] last = applyGroup(List.of(batch));
        return last[0];
    }

    /**
     * Group commit: checks and applies several queued batches as one (one undo sync, one replica
     * sync, one audit sync, one state write), and returns for each batch the last applied
     * sequence to acknowledge it with, as if they had been applied one by one. Batches after a
     * damaged one or a hole are not applied; the batches before it are, and then the
     * {@link JourneyProtocolException} is thrown with {@link GroupFailure} carrying their ACK
     * values.
     */
    long[] applyGroup(List<JourneyMessage.Batch> batches) throws IOException {
        return complete(stage(batches));
    }

    /**
     * A group whose before-images are durable and whose bytes were written to the replica, its
     * replica fdatasync and audit sync possibly still running; {@link #complete} makes it durable,
     * persists its applied sequence and returns its ACK values.
     */
    static final class StagedGroup {
        private final long[] acks;
        private final List<CaptureRecord> fresh;
        private final long newLast;
        private final BatchApply.Staged staged;
        private final RuntimeException rejected;
        private boolean done;

        private StagedGroup(long[] acks, List<CaptureRecord> fresh, long newLast, BatchApply.Staged staged,
                RuntimeException rejected) {
            this.acks = acks;
            this.fresh = fresh;
            this.newLast = newLast;
            this.staged = staged;
            this.rejected = rejected;
        }

        /** Whether a batch of the group failed its checks (the ones before it are staged): stage nothing after it. */
        boolean rejected() {
            return rejected != null;
        }

        /** Tests: waits until the group's replica and audit syncs ended (they still complete normally after). */
        void settle() {
            if (staged != null) {
                staged.settle();
            }
        }
    }

    /**
     * Pipelined group commit, first half (on the apply thread): checks the batches as
     * {@link #applyGroup} does, appends and fdatasyncs the before-images, writes the replica and
     * starts its fdatasync on the volume's sync thread, without waiting for it. At most one group
     * may be staged and not completed when the next is staged ({@code stage(N+1)} then
     * {@code complete(N)}); every group staged must be passed to {@link #complete} in order, or
     * to {@link #abandon} once the volume failed. Nothing else may run on the volume in between:
     * the caller completes or abandons every group before its task on the apply thread ends.
     *
     * <p>Ordering contract: group N+1's before-images read the replica after group N's pwrites
     * (page cache), so they hold N's bytes; its undo records are durable before any of its bytes
     * reaches the replica; the applied sequence passes a group only in {@link #complete}, after
     * its replica fdatasync. A power cut at any point leaves undo records (durable) for every
     * replica byte above the durable applied sequence, whichever of N's and N+1's writes reached
     * the disk, and opening the volume undoes them newest first ({@code PipelineCrashTest}).
     *
     * @throws IOException when writing failed: the volume is broken (see {@link #groupFailed});
     *         an earlier group still staged must then be abandoned, not completed
     */
    StagedGroup stage(List<JourneyMessage.Batch> batches) throws IOException {
        List<ReceivedBatch> received = new ArrayList<>(batches.size());
        for (JourneyMessage.Batch b : batches) {
            received.add(ReceivedBatch.unpack(b));
        }
        return stageReceived(received);
    }

    /**
     * {@link #stage} of batches unpacked where they were received (a session unpacks each on its
     * event loop, so the apply thread spends its time on the files).
     */
    StagedGroup stageReceived(List<ReceivedBatch> batches) throws IOException {
        checkUsable();
        if (staged >= 2) {
            throw new IllegalStateException("volume " + volumeId + ": a third group staged before the first completed");
        }
        checkOutsideWrites(); // before the sync state the group starts from is taken
        unstampBeforeWriting();
        groupsStaged++;
        if (staged == 0) { // a rollback, a divergence or a resync state change may have moved them since
            stagedLast = lastApplied;
            stagedSync = sync;
        }
        long[] acks = new long[batches.size()];
        List<CaptureRecord> fresh = new ArrayList<>();
        List<byte[]> freshDigests = new ArrayList<>();
        long expected = stagedLast + 1;
        RuntimeException rejected = null;
        int ok = 0;
        for (ReceivedBatch queued : batches) {
            ReceivedBatch batch = queued.unpacked();
            try {
                List<CaptureRecord> records = batch.checkedRecords();
                CaptureRecord head = records.get(0);
                boolean resyncBegins = head.kind() == io.tapline.log.RecordKind.RESYNC_BEGIN;
                if (batch.firstSequence() > expected && (resyncBegins || head.recordsLostBefore())) {
                    // A resync epoch covers what the hole misses, or the source says it lost those records (a
                    // power cut of a write-once buffer): SyncState marks the replica out of sync until a resync heals it.
                    log.warn("volume={} sequence jumps from {} to {}: {} ({})", volumeId, expected - 1,
                            batch.firstSequence(), resyncBegins ? "a resync begins there"
                                    : "the source lost the records between", head.text());
                    expected = batch.firstSequence();
                } else if (batch.firstSequence() > expected) {
                    throw new JourneyProtocolException("sequence: batch " + batch.batchId() + " starts at "
                            + batch.firstSequence() + " (expected: <= " + expected + ", last applied " + (expected - 1)
                            + ") volume=" + volumeId + ": a hole is never skipped");
                }
                for (CaptureRecord r : records) {
                    check(r);
                }
                for (int i = 0; i < records.size(); i++) {
                    CaptureRecord r = records.get(i);
                    if (r.sequence() >= expected) {
                        fresh.add(r);
                        freshDigests.add(batch.digests().get(i));
                        expected++;
                    }
                }
            } catch (RuntimeException e) {
                rejected = e;
                break;
            }
            acks[ok++] = expected - 1;
        }
        long[] okAcks = ok == acks.length ? acks : java.util.Arrays.copyOf(acks, ok);
        BatchApply.Staged written = null;
        if (!fresh.isEmpty()) {
            long newLast = expected - 1;
            long crc = fresh.get(fresh.size() - 1).crc32c() & 0xFFFFFFFFL;
            try {
                // applied.state is written on the sync thread, after the group's replica and audit syncs
                written = batchApply.stage(fresh, freshDigests, stagedSync, stagedLast, o -> {
                    long t0 = System.nanoTime();
                    state.persist(newLast, o.sync(), crc);
                    BatchApply.PHASES.statePersist.add(System.nanoTime() - t0);
                });
                outsideWrites.ownWritesDone();
            } catch (IOException | RuntimeException e) {
                throw groupFailed(fresh, e);
            }
            stagedLast = expected - 1;
            stagedSync = written.outcome().sync();
        }
        staged++;
        return new StagedGroup(okAcks, fresh, expected - 1, written, rejected);
    }

    /**
     * Pipelined group commit, second half: waits for the group's replica fdatasync and audit
     * sync, persists its applied sequence, tells the observer and returns the ACK values (or
     * throws the batch failure as {@link #applyGroup} does). On the apply thread, in stage order.
     */
    long[] complete(StagedGroup g) throws IOException {
        if (g.done) {
            throw new IllegalStateException("volume " + volumeId + ": group completed twice");
        }
        g.done = true;
        staged--;
        if (!g.fresh.isEmpty()) {
            checkUsable();
            try {
                commit(g.fresh, g.newLast, g.staged);
            } catch (IOException | RuntimeException e) {
                throw groupFailed(g.fresh, e);
            }
            observer.applied(volumeId, g.fresh);
        }
        if (g.rejected != null) {
            throw g.acks.length == 0 ? g.rejected : new GroupFailure(g.rejected, g.acks);
        }
        return g.acks;
    }

    /**
     * A staged group that will not be completed (a later stage or an earlier completion failed,
     * and the volume is broken): waits for its syncs to end so that nothing touches the files
     * when they are closed. Reopening the volume undoes it.
     */
    void abandon(StagedGroup g) {
        if (g.done) {
            return;
        }
        g.done = true;
        staged--;
        if (g.staged != null) {
            g.staged.settle();
        }
    }

    private void commit(List<CaptureRecord> fresh, long newLast, BatchApply.Staged written) throws IOException {
        BatchApply.Outcome o = batchApply.finish(written); // replica, audit and applied.state durable
        bytesApplied.addAndGet(o.bytes());
        completedCrc = fresh.get(fresh.size() - 1).crc32c() & 0xFFFFFFFFL;
        lastApplied = newLast;
        sync = o.sync();
        setFailure(null);
        for (CaptureRecord r : fresh) {
            chunkWrites.applied(r);
        }
        // A group staged after this one has undo records above lastApplied: retention keeps them.
        undo.enforceRetention(newLast);
        window = undo.window();
    }

    /**
     * A group failed part-way: the undo log, the replica and {@code applied.state} may disagree
     * (undo records above the applied sequence, part of the replica written, buffers in memory that
     * never reached a file). The volume is failed with the reason and must be reopened; reopening
     * undoes the group from its before-images, as after a crash. A failed fdatasync stays failed.
     */
    private IOException groupFailed(List<CaptureRecord> fresh, Exception e) {
        VolumeFailure f = VolumeFailure.applying(volumeId, fresh.get(0).sequence(),
                fresh.get(fresh.size() - 1).sequence(), e);
        broken = true;
        setFailure(f);
        log.error("volume={} {} ({})", volumeId, f.reason(), e.toString());
        return e instanceof IOException io ? io : new IOException(f.reason(), e);
    }

    /** A batch of a group failed its checks; the batches before it were applied. */
    static final class GroupFailure extends JourneyProtocolException {
        private static final long serialVersionUID = 1L;
        private final transient long[] appliedAcks;

        GroupFailure(RuntimeException cause, long[] appliedAcks) {
            super(cause.getMessage() == null ? cause.toString() : cause.getMessage(), cause);
            this.appliedAcks = appliedAcks;
        }

        /** ACK values of the batches applied before the failure, in order. */
        long[] appliedAcks() {
            return appliedAcks.clone();
        }
    }

    private void check(CaptureRecord r) {
        if (!r.volumeId().equals(volumeId)) {
            throw new JourneyProtocolException(
                    "record volume: " + r.volumeId() + " (expected: " + volumeId + ") seq=" + r.sequence());
        }
        if (r.kind().changesData()
                && (r.offsetBytes() > meta.volumeSizeBytes() || r.lengthBytes() > meta.volumeSizeBytes() - r.offsetBytes())) {
            throw new JourneyProtocolException("record range: offset " + r.offsetBytes() + " length "
                    + r.lengthBytes() + " (expected: inside volume of " + meta.volumeSizeBytes() + " bytes) volume="
                    + volumeId + " seq=" + r.sequence());
        }
    }

    String volumeId() {
        return volumeId;
    }

    long sizeBytes() {
        return meta.volumeSizeBytes();
    }

    /** Who hears of each applied group (a forwarding node). */
    void observe(ApplyObserver o) {
        this.observer = o;
    }

    /**
     * What the replica is at its applied sequence, for the answer to a rollback: "consistent there"
     * or "out of sync there (why)", so that the operator learns it from the command itself.
     */
    String stateHere() {
        return sync.consistent() ? "the replica is consistent there"
                : "the replica is out of sync there (" + VolumeStatus.of(volumeId, lastApplied, sync, null, 0, false)
                        .reason() + ")";
    }

    /** Any thread: the volume's figures. */
    VolumeStatus status(boolean sessionConnected) {
        VolumeFailure f = failure;
        VolumeStatus s = VolumeStatus.of(volumeId, lastApplied, sync, f == null ? null : f.reason(), bytesApplied.get(),
                sessionConnected);
        String paused = pausedReason;
        return paused == null || f != null ? s : s.paused(paused);
    }

    /**
     * On the apply thread: audits an online verify's report and, when it found differing ranges,
     * marks the replica out of sync (durably) so that status tells the truth until a resync heals it.
     */
    void verified(io.tapline.journey.control.VerifyReport report) throws IOException {
        String problem = verifyReportProblem(report, sizeBytes(), lastApplied);
        if (problem != null) { // never into the audit log: auditors trust what it says
            throw new IllegalArgumentException("VerifyReport: " + problem);
        }
        audit.append(AuditType.VERIFY, report.atSequence(), 0, 0, report.bytesCompared(), 0, 0, null, report.actor(),
                report.summary());
        audit.sync();
        if (!report.ranges().isEmpty()) {
            SyncState after = sync.differenceFound(lastApplied);
            state.persist(lastApplied, after);
            sync = after;
            log.warn("volume={} online verify found {} differing ranges ({} bytes): replica out of sync until resync",
                    volumeId, report.ranges().size(), report.differingBytes());
        } else {
            log.info("volume={} online verify: {}", volumeId, report.summary());
        }
    }

    /**
     * Why a source's verify report cannot be recorded as it is, or null: its ranges must lie in the
     * volume, its sequence must be one this replica applied, its actor a printable name (a report
     * with negative offsets, ranges past the end and "at seq 999999" of a replica at seq 6 was
     * audited as it came: probe J D13).
     */
    static String verifyReportProblem(io.tapline.journey.control.VerifyReport report, long sizeBytes, long lastApplied) {
        if (report.atSequence() < 0 || report.atSequence() > lastApplied) {
            return "atSequence: " + report.atSequence() + " (expected: 0.." + lastApplied + ", applied here)";
        }
        if (report.bytesCompared() < 0 || report.bytesCompared() > sizeBytes) {
            return "bytesCompared: " + report.bytesCompared() + " (expected: 0.." + sizeBytes + ")";
        }
        for (long[] r : report.ranges()) {
            if (r[0] < 0 || r[1] <= 0 || r[0] > sizeBytes - r[1]) {
                return "range " + r[0] + "+" + r[1] + " (expected: inside the volume of " + sizeBytes + " bytes)";
            }
        }
        return VolumeIds.nameProblem("actor", report.actor());
    }

    /** The current resync epoch id, 0 when none. */
    long resyncId() {
        return sync.resyncId();
    }

    /**
     * On the apply thread: hashes the chunks {@code req} names at the current applied sequence.
     * Serving the hashes of the current resync epoch makes the epoch cover this replica (see
     * {@link SyncState}); that is persisted before the reply leaves.
     */
    io.tapline.journey.control.ChunkHashReply hashChunks(io.tapline.journey.control.ChunkHashRequest req)
            throws IOException {
        checkNothingStaged();
        io.tapline.journey.control.ChunkHashReply reply = hasher.hash(req, replica, chunkWrites, lastApplied);
        SyncState hashed = sync.hashedFor(req.resyncId());
        if (hashed != sync) {
            state.persist(lastApplied, hashed);
            sync = hashed;
        }
        return reply;
    }

    long lastApplied() {
        return lastApplied;
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        batchApply.close();
        try {
            replica.close();
            stampAtClose();
        } finally {
            try {
                undo.close();
            } finally {
                try {
                    audit.close();
                } finally {
                    state.close();
                }
            }
        }
    }
}
