package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import io.tapline.log.ExclusiveLock;
import io.tapline.log.AlignedStaging;
import io.tapline.log.CaptureRecord;
import io.tapline.log.Provenance;
import io.tapline.log.RecordCodec;
import io.tapline.log.RecordKind;
import io.tapline.log.RetiredFiles;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source side's durable FIFO of capture records for one volume: segment files under one
 * directory, per-remote cursors, recovery after a crash.
 *
 * <p>Thread-safety: {@link #append} is called by one sequencer thread at a time (it is
 * synchronized anyway); readers, {@link #sync}, {@link #acknowledge} and {@link #status} may be
 * called from any thread.
 *
 * <p>Ordering and durability contract. {@code append} assigns dense sequences from 1, writes
 * the record into the page cache with one gathering write and publishes it to readers at once;
 * it does not fsync, except once per segment: a roll forces the full segment (and the directory)
 * before the next segment is created, so that only the last segment can be torn by a power cut. {@link #sync} makes every record appended before the call durable with one
 * fdatasync shared by every concurrent caller (group commit), plus a directory fsync when a
 * segment was created. Example: the wedge appends 7, 8, 9 from its sequencer, then two NBD FLUSH
 * handlers call {@code sync()} at once: one of them forces the segment, the other finds 9
 * already durable and returns; both may then reply to the host.
 *
 * <p>Files of a buffer directory ({@code docs/formats.md}): {@code NNNNNNNNNNNNNNNNNNNN.seg}
 * ({@link SegmentHeader} then records), {@code remote-ID.cursor} ({@link CursorFile}),
 * {@code buffer.state} ({@link BufferState}), {@code .lock}. One buffer opens a directory at a
 * time (an {@link ExclusiveLock} on {@code .lock}, held until {@link #close}); {@link #readStatus}
 * takes no lock and may run in other processes meanwhile.
 *
 * <p>Do not interrupt appending threads: an interrupt during file I/O fails that call (the file
 * is cut back to the last whole record, so the buffer stays usable).
 */
public final class CaptureBuffer implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(CaptureBuffer.class);
    private static final byte[] EMPTY = new byte[0];
    /** Held while the buffer is open: one writer per directory. */
    public static final String LOCK_FILE = ".lock";
    /** The state file every volume folder has once a buffer opened it (docs/formats.md): its mark for readers. */
    public static final String STATE_FILE = SegmentNames.STATE_FILE;
    /**
     * Present only while no buffer has the directory open after a clean {@link #close}. Missing at
     * open (for a buffer that existed): the last run ended without a close, so the source volume
     * may hold writes whose records a power cut took (the wedge writes buffer and primary through
     * the page cache until a FLUSH): the chunks of the {@link ActivityLog}'s hot extents are
     * tracked (every chunk when the run kept no log), and a resync compares them.
     */
    static final String CLEAN_SHUTDOWN_FILE = "clean.shutdown";
    private boolean uncleanShutdown;

    private final Path dir;
    private final String volumeId;
    private final int volumeIdBytes;
    private final BufferConfig config;
    private final Clock clock;
    /** At open: the highest sequence a remote acknowledged past the last record the buffer kept; -1: none. */
    private long acknowledgedPastEnd = -1;
    /** Remotes released ({@link #releaseRemote}), loaded at open; replaced whole under {@link #releasedLock}. */
    private volatile java.util.Map<String, ReleasedRemotes.Release> released = java.util.Map.of();
    private final Object releasedLock = new Object();
    private final RecoveryReport recoveryReport;
    private final RemoteCursors cursors;
    private final LostWrites lost;
    private final ChangedChunks changed;
    private volatile String storageError = "";
    /** Set by the first failed fsync ({@link #fail}); never cleared while open. */
    private volatile String failure = "";
    private final Object failureLock = new Object();
    private volatile String capturePaused = "";
    /** This buffer's identity ({@link BufferIdFile}), set at open. */
    private long bufferId;
    private long storageRetryAtNanos;
    private static final long STORAGE_RETRY_NANOS = 1_000_000_000L;
    /** Free bytes a storage error's retry wants on the buffer's file system before it leaves FULL. */
    static final long RETRY_ROOM_BYTES = 4L << 20;
    private final ConcurrentSkipListMap<Long, CaptureSegment> segments = new ConcurrentSkipListMap<>();

    // Writer state, guarded by this.
    private CaptureSegment active;
    private final ByteBuffer headerBuffer = ByteBuffer.allocateDirect(RecordCodec.FIXED_BYTES + 3 * 255);
    private final ByteBuffer[] gather = new ByteBuffer[2];
    private final RecordBatch batch = new RecordBatch();
    /** The O_DIRECT staging memory of all segments: allocated once, not per segment. */
    private final AlignedStaging staging = new AlignedStaging();
    private final List<CaptureSegment> unforced = new ArrayList<>();
    private volatile boolean directoryDirty;

    private volatile long lastSequence;
    private volatile long retainedBytes;
    private volatile boolean closed;

    // Group commit.
    private final Object syncLock = new Object();
    private final AtomicLong durableSequence = new AtomicLong();

    // Readers waiting for appends.
    private final ReentrantLock waitLock = new ReentrantLock();
    private final Condition appended = waitLock.newCondition();
    private volatile int waiters;

    private final OldestUnacked oldestUnacked = new OldestUnacked();
    /** Spans whose data never ships (readers hand out GAPs in their place). */
    private volatile DiscardedSpans discarded = DiscardedSpans.NONE;
    private ExclusiveLock lock;
    /** The sequence floor of the write-once mode; null in the durable mode. */
    private SequenceReservation reservation;
    /** The hot extents (writer lock); null when the config keeps no activity log. */
    private ActivityLog activity;
    /** The highest sequence the writer reported durable on the primary too ({@link #confirmDurable}). */
    private final AtomicLong confirmedThrough = new AtomicLong();

    private CaptureBuffer(Path dir, String volumeId, BufferConfig config, Clock clock, RecoveryReport report,
            RemoteCursors cursors, LostWrites lost, ChangedChunks changed) {
        this.dir = dir;
        this.volumeId = volumeId;
        this.volumeIdBytes = volumeId.getBytes(StandardCharsets.UTF_8).length;
        this.config = config;
        this.clock = clock;
        this.recoveryReport = report;
        this.cursors = cursors;
        this.lost = lost;
        this.changed = changed;
    }

    /**
     * Opens (creating if missing) the buffer of {@code volumeId} in {@code volumeDir}, recovering
     * after a crash: a torn tail is trimmed and reported in {@link #recoveryReport()}; corruption
     * before the tail throws {@link BufferCorruptException} naming file and offset.
     */
    public static CaptureBuffer open(Path volumeDir, String volumeId, BufferConfig config) throws IOException {
        return open(volumeDir, volumeId, config, Clock.systemUTC());
    }

    /**
     * As {@link #open(Path, String, BufferConfig)}, with the clock that stamps capture times.
     *
     * @throws IOException {@code buffer: DIR is in use by another process (lock file DIR/.lock)}
     *         while another buffer has the directory open, in this or another process
     */
    public static CaptureBuffer open(Path volumeDir, String volumeId, BufferConfig config, Clock clock)
            throws IOException {
        Files.createDirectories(Objects.requireNonNull(volumeDir, "volumeDir"));
        ExclusiveLock lock = ExclusiveLock.acquire(volumeDir.resolve(LOCK_FILE), "buffer", volumeDir);
        try {
            CaptureBuffer buffer = openLocked(volumeDir, volumeId, config, clock);
            buffer.lock = lock;
            return buffer;
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    private static CaptureBuffer openLocked(Path volumeDir, String volumeId, BufferConfig config, Clock clock)
            throws IOException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(clock, "clock");
        new SegmentHeader(1, Objects.requireNonNull(volumeId, "volumeId")); // checks the id's length
        deleteLeftoverTempFiles(volumeDir);
        RetiredFiles.deleteLeftovers(volumeDir); // segments retired before a crash or an exit
        boolean existed = Files.exists(volumeDir.resolve(SegmentNames.STATE_FILE));
        Path cleanMarker = volumeDir.resolve(CLEAN_SHUTDOWN_FILE);
        boolean cleanShutdown = Files.exists(cleanMarker);
        boolean writeOnceCrash = existed && !cleanShutdown && SequenceReservation.present(volumeDir);
        long droppedThrough = -1; // the floor, when a power cut took the write-once segments' records
        if (writeOnceCrash && !SequenceReservation.writtenThisBoot(volumeDir)) {
            droppedThrough = startPastFloor(volumeDir, volumeId);
        } else if (writeOnceCrash) {
            log.warn("write-once capture buffer was not closed cleanly in this boot volume={} dir={}: the page cache"
                    + " kept its records, recovered as a durable buffer's", volumeId, volumeDir);
        }
        SegmentRecovery.Result recovered = SegmentRecovery.recover(volumeDir, volumeId, !cleanShutdown);
        RemoteCursors cursors = RemoteCursors.load(volumeDir, clock);
        LostWrites lost = LostWrites.open(volumeDir, volumeId, config);
        ChangedChunks changed;
        try {
            changed = ChangedChunks.open(volumeDir, ChangedChunks.DEFAULT_CHUNK_BYTES);
        } catch (IOException | RuntimeException e) {
            lost.close();
            throw e;
        }
        CaptureBuffer buffer = new CaptureBuffer(volumeDir, volumeId, config, clock, recovered.report(), cursors, lost,
                changed);
        try {
            buffer.bufferId = BufferIdFile.readOrCreate(volumeDir, volumeId, nanosOf(clock.instant()));
            buffer.released = java.util.Map.copyOf(ReleasedRemotes.readAll(volumeDir));
            if (existed && !cleanShutdown) {
                trackAfterUncleanStop(volumeDir, volumeId, changed, droppedThrough);
                buffer.uncleanShutdown = true;
            }
            if (cleanShutdown) {
                Files.delete(cleanMarker);
                DurableFiles.syncDirectory(volumeDir); // a crash from now on must be seen as one
            }
            // Only once the last run's hot extents are tracked durably: a fresh log, or none.
            if (config.activityLog().enabled()) {
                // Every write the buffer still carries precedes the log. After a power cut it carries none:
                // what the cut took is in changed.chunks for a replica at or after its sinceSequence.
                List<SegmentRecovery.Loaded> loaded = recovered.segments();
                long carriedThrough = droppedThrough >= 0 || loaded.isEmpty() ? 0
                        : loaded.get(loaded.size() - 1).lastSequence();
                buffer.activity = ActivityLog.start(volumeDir, config.activityLog(), carriedThrough);
            } else {
                ActivityLog.remove(volumeDir);
            }
            buffer.adopt(recovered.segments());
            if (buffer.acknowledgedPastEnd > buffer.lastSequence) {
                // Sequences never go back on a replica: the next record follows what it applied, after a
                // GAP that says the records between are not this buffer's; its extents were hot, so the
                // activity log's chunks (tracked above) heal the replica.
                buffer.numberPast(buffer.acknowledgedPastEnd, "records " + (buffer.lastSequence + 1) + ".."
                        + buffer.acknowledgedPastEnd + " were applied by a remote and then lost from the capture"
                        + " buffer (a power cut before they were synced)");
            }
            if (droppedThrough >= 0) { // startPastFloor left one empty segment: the GAP is seq droppedThrough + 1
                // Before this boot's reservation: a kill between the two then reopens as another boot's
                // power cut again (the same GAP), never as a clean kill that skips it.
                buffer.appendRecordsLostGap(droppedThrough);
            }
            if (config.writeOnce()) {
                buffer.reservation = SequenceReservation.begin(volumeDir, buffer.lastSequence);
            } else {
                SequenceReservation.end(volumeDir);
            }
            buffer.capturePaused = CapturePause.read(volumeDir);
            buffer.discarded = DiscardedSpans.read(volumeDir).with(null, buffer.firstSequence());
        } catch (IOException | RuntimeException e) {
            buffer.closeQuietlyAfter(e);
            throw e;
        }
        log.info("capture buffer opened volume={} dir={} firstSeq={} lastSeq={} retainedBytes={} mode={} {}",
                volumeId, volumeDir, buffer.firstSequence(), buffer.lastSequence, buffer.retainedBytes,
                buffer.mode(), recovered.report().summary());
        if (lost.full()) {
            log.warn("capture buffer is FULL since before restart volume={} lostWrites={}", volumeId, lost.count());
        }
        if (!cursors.snapshot().isEmpty()) {
            // What every remote acknowledged before the restart (or every remote still on record,
            // after one was forgotten) is freed now: a FULL buffer whose cursors are all at its
            // end gets no later acknowledgement that would free it.
            RetiredFiles.delete(buffer.releaseAcknowledged(true));
        }
        warnIfFilesystemSmall(volumeDir, volumeId, config);
        return buffer;
    }

    /**
     * Frees what every remote acknowledged, the active segment too when all of it is (it is
     * rolled): for a writer that waits for room below the high-water mark (a resync's pace), which
     * no acknowledgement would otherwise make while the active segment holds it.
     */
    public void releaseAcknowledgedForRoom() throws IOException {
        checkOpen();
        if (!cursors.snapshot().isEmpty()) {
            RetiredFiles.delete(releaseAcknowledged(true));
        }
    }

    /**
     * After an unclean stop: tracks the chunks of the hot extents the last run's activity log
     * names, durably, or every chunk when it kept none or it cannot be read. The primary and the
     * buffer can disagree only there: an extent became hot before any write into it was stored or
     * applied, and cooled only once its writes were safe.
     */
    private static void trackAfterUncleanStop(Path dir, String volumeId, ChangedChunks changed, long droppedThrough)
            throws IOException {
        ActivityLog.Recovered hot;
        String why;
        try {
            hot = ActivityLog.read(dir);
            why = hot == null ? "no activity log" : hot.problem();
        } catch (IOException e) {
            hot = null;
            why = "activity log unreadable: " + e.getMessage();
        }
        if (hot != null && hot.readable()) {
            for (int extent : hot.extents()) {
                changed.mark((long) extent * hot.extentBytes(), hot.extentBytes());
            }
            if (droppedThrough >= 0 && hot.extents().length == 0) {
                // The flagged GAP leaves every replica out of sync, and only a comparison heals one: with
                // nothing hot (no write since the log started) one extent is compared, not the volume.
                changed.mark(0, hot.extentBytes());
            }
            if (droppedThrough >= 0) {
                // Records after a replica's last one were lost: only a replica that had applied every
                // record through coldThrough is healed by the hot extents (each lost one wrote into one).
                changed.requireSince(hot.coldThrough() >= 0 ? hot.coldThrough() : droppedThrough);
                log.warn("volume={} dir={}: the records the power cut took wrote into the hot extents only after seq"
                        + " {}: a replica that had applied it is healed by comparing them, one further back by"
                        + " comparing every chunk", volumeId, dir, changed.sinceSequence());
            }
            changed.force();
            log.warn("capture buffer was not closed cleanly (crash or power loss) volume={} dir={}: the activity log"
                    + " names {} hot extents ({} bytes), their chunks are tracked and a resync compares them with its"
                    + " replicas", volumeId, dir, hot.extents().length, hot.hotBytes());
            return;
        }
        log.warn("capture buffer was not closed cleanly (crash or power loss) volume={} dir={}: every chunk is"
                + " tracked ({}), a resync compares the volume with its replicas", volumeId, dir, why);
        changed.markAll(ChangedChunks.WholeVolumeCause.UNCLEAN_SHUTDOWN);
    }

    /**
     * After a crash of a write-once buffer in an earlier boot: its segments were never forced, so
     * a power cut may have left any of them torn, emptied or missing (their directory entries were
     * not synced either). None is trusted: they are deleted and the buffer starts past the durable
     * sequence floor, so no later record reuses a sequence a remote may have applied. The caller
     * tracks the activity log's hot extents (every chunk without one) and starts the buffer with
     * a GAP that says so ({@link CaptureRecord#FLAG_RECORDS_LOST}): a replica continues there, out
     * of sync until a resync compares the tracked chunks (or every chunk, for one further back).
     *
     * @return the floor: the last sequence before the buffer's new first record
     */
    private static long startPastFloor(Path volumeDir, String volumeId) throws IOException {
        List<Path> segmentFiles = SegmentNames.listSegments(volumeDir);
        long highestKnown = 0;
        for (Path f : segmentFiles) {
            highestKnown = Math.max(highestKnown, SegmentNames.baseSequenceOf(f) + Files.size(f));
        }
        for (long ack : RemoteCursors.readAll(volumeDir).values()) {
            highestKnown = Math.max(highestKnown, ack);
        }
        long floor = SequenceReservation.floorAfterCrash(volumeDir, highestKnown);
        for (Path f : segmentFiles) {
            Files.delete(f);
        }
        DurableFiles.syncDirectory(volumeDir);
        startAt(volumeDir, volumeId, floor + 1);
        log.warn("write-once capture buffer was not closed cleanly before a reboot (power cut or kernel crash)"
                + " volume={} dir={}: its {} unforced segments are dropped (records not yet shipped are lost as"
                + " records), it starts at seq {} past the reserved floor with a GAP, and a resync heals each replica",
                volumeId, volumeDir, segmentFiles.size(), floor + 1);
        return floor;
    }

    /**
     * Appends, as the first record after a power cut took the write-once segments, the GAP that
     * tells a replica the records between its last one and this one are gone
     * ({@link CaptureRecord#FLAG_RECORDS_LOST}): it continues here, out of sync, and the changed
     * chunks heal it. Not forced: a power cut that takes it takes the records after it too, and
     * the next open writes another.
     */
    private void appendRecordsLostGap(long droppedThrough) throws IOException {
        byte[] reason = ("power cut: the write-once buffer lost its unforced records through seq " + droppedThrough
                + "; a resync heals the replica").getBytes(StandardCharsets.UTF_8);
        CaptureRecord gap = CaptureRecord.seal(volumeId, lastSequence + 1, nanosOf(clock.instant()), RecordKind.GAP,
                0, 0, CaptureRecord.FLAG_RECORDS_LOST, Provenance.INTERNAL, reason);
        write(gap, needsRoll(encodedSize(Provenance.INTERNAL, reason.length)));
        lost.gapCounted(); // status counts every GAP record, whatever made it
    }

    /** Reserves sequences {@code block} at a time from now on (write-once mode; tests reach a reservation's end). */
    synchronized void reserveInBlocksOf(long block) throws IOException {
        if (reservation == null) {
            throw new IllegalStateException("not a write-once buffer");
        }
        reservation = SequenceReservation.begin(dir, lastSequence, block);
    }

    /** Whether this buffer runs in the write-once mode ({@link BufferConfig#writeOnce}). */
    public boolean writeOnce() {
        return config.writeOnce();
    }

    private void adopt(List<SegmentRecovery.Loaded> loaded) throws IOException {
        long retained = 0;
        for (int i = 0; i < loaded.size(); i++) {
            SegmentRecovery.Loaded l = loaded.get(i);
            // Only the last segment is written again: the others hold no descriptor (probe V D1).
            CaptureSegment segment = i < loaded.size() - 1 ? CaptureSegment.openSealed(l)
                    : CaptureSegment.open(l).directAppendsFrom(config.effectiveDirectAppendMinBytes(), staging);
            segments.put(segment.baseSequence(), segment);
            retained += segment.publishedSizeBytes();
        }
        long last = loaded.isEmpty() ? 0 : loaded.get(loaded.size() - 1).lastSequence();
        Map<String, Long> acks = cursors.snapshot();
        for (Map.Entry<String, Long> ack : acks.entrySet()) {
            if (ack.getValue() > last) {
                // A power cut took the buffer's unsynced tail after a remote applied and acknowledged
                // it (durable mode ships before the host's FLUSH): numbered past below, once open.
                log.warn("capture buffer lost records a remote had applied volume={} remote={} acknowledged={}"
                        + " lastStored={} (a power cut before they were synced): the buffer numbers past them and"
                        + " the replica is compared where the host was writing", volumeId, ack.getKey(),
                        ack.getValue(), last);
                acknowledgedPastEnd = Math.max(acknowledgedPastEnd, ack.getValue());
            }
        }
        if (segments.isEmpty()) {
            active = CaptureSegment.create(dir, last + 1, volumeId).directAppendsFrom(config.effectiveDirectAppendMinBytes(), staging);
            segments.put(active.baseSequence(), active);
            retained += active.publishedSizeBytes();
            DurableFiles.syncDirectory(dir);
        } else {
            active = segments.lastEntry().getValue();
            segments.headMap(active.baseSequence()).values().forEach(CaptureSegment::seal);
        }
        lastSequence = last;
        retainedBytes = retained;
        durableSequence.set(last);
    }

    /**
     * Prepares a new buffer directory so that its first record carries {@code firstSequence}:
     * a promoted replica numbers its writes after the last sequence it applied, so that the
     * volume's sequences never go back across generations (a replica's undo log and audit only
     * move forward). Writes one header-only segment, durably; does nothing when the directory
     * already holds segments.
     */
    public static void startAt(Path volumeDir, String volumeId, long firstSequence) throws IOException {
        if (firstSequence < 1) {
            throw new IllegalArgumentException("firstSequence: " + firstSequence + " (expected: >= 1)");
        }
        Files.createDirectories(volumeDir);
        try (java.nio.file.DirectoryStream<Path> existing = Files.newDirectoryStream(volumeDir,
                "*" + SegmentNames.SEGMENT_SUFFIX)) {
            if (existing.iterator().hasNext()) {
                return;
            }
        }
        try (CaptureSegment first = CaptureSegment.create(volumeDir, firstSequence, volumeId)) {
            first.force();
        }
        DurableFiles.syncDirectory(volumeDir);
    }

    /**
     * The base sequence of the oldest segment file in {@code volumeDir}, without opening the
     * buffer; -1 when there is none (or no such directory).
     */
    public static long oldestSegmentBase(Path volumeDir) throws IOException {
        if (!Files.isDirectory(volumeDir)) {
            return -1;
        }
        List<Path> segments = SegmentNames.listSegments(volumeDir);
        return segments.isEmpty() ? -1 : SegmentNames.baseSequenceOf(segments.get(0));
    }

    /** What recovery found when this buffer was opened. */
    public RecoveryReport recoveryReport() {
        return recoveryReport;
    }

    /**
     * Assigns the next sequence number and the capture time, seals the record (CRC-32C) and
     * appends it to the active segment (page cache; durable only after {@link #sync}).
     *
     * @return the stored record, or {@code null} when the buffer is full: the write was not
     *         stored but its range was remembered as lost; status shows FULL and a GAP record is
     *         appended as soon as space returns. The host's write must still proceed.
     */
    public synchronized CaptureRecord append(RecordKind kind, long offsetBytes, long lengthBytes, int flags,
            Provenance provenance, byte[] payload) throws IOException {
        checkOpen();
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(provenance, "provenance");
        byte[] data = payload == null ? EMPTY : payload;
        if (activity != null && kind.changesData()) {
            admit(List.of(new ActivityLog.Touch(offsetBytes, lengthBytes, lastSequence + 1)));
        }
        if (!capturePaused.isEmpty()) {
            // An operator stopped capture: the host's writes go on, their chunks are tracked and a
            // resync ships them once capture resumes. Nothing is stored meanwhile (no MARK either:
            // it would name a point the replica cannot reach).
            if (kind.changesData() || kind == RecordKind.GAP) {
                changed.mark(offsetBytes, lengthBytes);
            }
            return null;
        }
        if (data.length > RecordCodec.MAX_PAYLOAD_BYTES) {
            throw new IllegalArgumentException("payload: " + data.length + " bytes (expected: <= "
                    + RecordCodec.MAX_PAYLOAD_BYTES + ", the record limit every reader enforces) volume=" + volumeId
                    + " seq=" + (lastSequence + 1));
        }
        try {
            CaptureRecord stored = appendOrTrack(kind, offsetBytes, lengthBytes, flags, provenance, data);
            if (stored != null && !storageError.isEmpty()) {
                log.info("capture buffer writes succeed again volume={} after: {}", volumeId, storageError);
                storageError = "";
            }
            return stored;
        } catch (IOException e) {
            if (closed) {
                throw e;
            }
            // The host comes first: a buffer that cannot store (ENOSPC, EIO) turns into block
            // tracking, exactly like a FULL one, and the range is healed by a resync.
            if (storageError.isEmpty()) {
                log.error("capture buffer cannot store records, tracking changed chunks instead volume={} dir={} error={}",
                        volumeId, dir, e.toString());
            }
            storageError = e.getMessage() == null ? e.toString() : e.getMessage();
            storageRetryAtNanos = System.nanoTime() + STORAGE_RETRY_NANOS; // no fsync attempt per host write meanwhile
            track(kind, offsetBytes, lengthBytes);
            return null;
        }
    }

    /**
     * Appends a run of records as {@link #append} would one at a time, but with one write, and
     * publishes them together: readers see all of them or none. It takes the longest prefix of
     * {@code requests} that the buffer can store right now without leaving the active segment
     * or its byte limit, and returns that prefix's sealed records (one capture time for all of
     * them); the rest is left to {@link #append}, which handles a roll, FULL, a paused capture,
     * a storage error and GAP records one record at a time. When the write fails, nothing is
     * stored and no sequence is used: the caller appends the same records one by one, and their
     * failures turn into block tracking as they always do.
     *
     * <p>Why: a wedge under 4 KiB random writes otherwise pays one system call, one lock and
     * one reader wake-up per record (docs/benchmarks.md#p3-inline).
     *
     * @return the stored prefix in sequence order, possibly empty (then nothing was stored)
     * @throws IOException when the buffer is closed
     */
    public synchronized List<CaptureRecord> appendBatch(List<? extends AppendRequest> requests) throws IOException {
        checkOpen();
        if (requests.isEmpty() || !capturePaused.isEmpty() || lost.full() || !storageError.isEmpty()) {
            return List.of();
        }
        long published = active.publishedSizeBytes();
        long total = 0;
        long largest = 0;
        int n = 0;
        for (AppendRequest r : requests) {
            long size = encodedSize(r.provenance(), r.payload().length);
            boolean fitsSegment = n == 0 && active.isEmpty() || published + total + size <= config.segmentBytes();
            if (r.kind() == RecordKind.GAP || r.payload().length > RecordCodec.MAX_PAYLOAD_BYTES || !fitsSegment
                    || retainedBytes + total + size > config.maxBytes()) {
                break;
            }
            if (activity != null && r.kind().changesData() && !activity.covers(r.offsetBytes(), r.lengthBytes())) {
                // A cold extent needs a transaction, which fsyncs (see prepare): the whole run is left
                // to the capture thread, which admits all its extents at once. Taking the hot head here
                // and queueing the rest made smaller batches and more transactions
                // (docs/benchmarks.md#activity-log).
                return List.of();
            }
            total += size;
            largest = Math.max(largest, size);
            n++;
        }
        if (n == 0) {
            return List.of();
        }
        long captureTime = nanosOf(clock.instant());
        List<CaptureRecord> records = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            AppendRequest r = requests.get(i);
            records.add(CaptureRecord.seal(volumeId, lastSequence + 1 + i, captureTime, r.kind(), r.offsetBytes(),
                    r.lengthBytes(), r.flags(), r.provenance(), r.payload()));
        }
        long last = lastSequence + n;
        if (reservation != null && last > reservation.reservedThrough()) {
            return List.of(); // reserving fsyncs, and an inline run is on an event loop: one by one on the capture thread
        }
        try {
            active.append(batch.encode(records), last, total, largest);
        } catch (IOException e) {
            log.debug("batched append failed, appending one record at a time volume={} seq={}..{}", volumeId,
                    lastSequence + 1, last, e);
            return List.of();
        }
        retainedBytes += total;
        lastSequence = last;
        if (activity != null) {
            for (CaptureRecord r : records) {
                activity.touch(r.offsetBytes(), r.lengthBytes(), r.sequence());
            }
        }
        wakeReaders();
        return records;
    }

    /**
     * Makes the ranges of {@code requests} hot in the activity log before {@link #appendBatch}
     * stores them (one transaction, an fdatasync, for all extents not hot yet), so the batch is
     * not cut short at a cold extent. Never call it on an event loop. A no-op without a log.
     *
     * @throws IOException when the transaction failed (the buffer then fails as after any failed
     *         fsync) or the buffer is closed
     */
    public synchronized void prepare(List<? extends AppendRequest> requests) throws IOException {
        checkOpen();
        if (activity == null) {
            return;
        }
        List<ActivityLog.Touch> touches = new ArrayList<>(requests.size());
        for (int i = 0; i < requests.size(); i++) {
            AppendRequest r = requests.get(i);
            if (r.kind().changesData()) {
                touches.add(new ActivityLog.Touch(r.offsetBytes(), r.lengthBytes(), lastSequence + 1 + i));
            }
        }
        admit(touches);
    }

    /**
     * Makes the touched extents hot before their writes go anywhere. A failed transaction fails
     * the buffer (as any failed fsync): the write gets an error and changes nothing, and after it
     * no write reaches an extent that is not hot, so the log the next open reads covers them all.
     */
    private void admit(List<ActivityLog.Touch> touches) throws IOException {
        boolean cold = !activity.coversAll(touches);
        if (cold) {
            checkNotFailed(); // a transaction is needed: none after a failed fsync
        }
        try {
            activity.admit(touches, cold ? safeThrough() : 0); // without a cold extent: only notes the touches
        } catch (IOException e) {
            fail("activity log transaction failed: " + e.getMessage());
            throw e;
        }
    }

    /**
     * The highest sequence whose write can no longer make the primary and the replicas disagree
     * after a crash: the writer confirmed the primary durable through it, and the buffer holds it
     * durably (durable mode) or every remote acknowledged it (write-once mode: a power cut drops
     * unacknowledged records).
     */
    private long safeThrough() {
        long safe = confirmedThrough.get();
        if (config.writeOnce()) {
            long acked = cursors.minimum();
            return Math.min(safe, acked == Long.MAX_VALUE ? 0 : acked);
        }
        return Math.min(safe, durableSequence.get());
    }

    /**
     * Whether the writer should make a durable point of its own (a sync pair, then
     * {@link #confirmDurable}): the activity log holds more hot extents than configured because
     * none of them is safe, as under a host that never flushes. The wedge's flusher polls it.
     */
    public boolean wantsDurablePoint() {
        ActivityLog a = activity;
        if (a == null || a.hotCount() <= config.activityLog().hotExtents()) {
            return false;
        }
        long reach = lastSequence; // what a durable point could make safe
        if (config.writeOnce()) {
            long acked = cursors.minimum();
            reach = Math.min(reach, acked == Long.MAX_VALUE ? 0 : acked);
        }
        return confirmedThrough.get() < reach;
    }

    /**
     * Reports that the writer's primary volume is durable through {@code sequence}: every record
     * up to it was applied to the primary and both were synced afterwards (the wedge's flusher
     * calls it after its sync pair). Lets the activity log's extents cool down; without it they
     * stay hot and a crash makes the resync compare all of them.
     */
    public void confirmDurable(long sequence) {
        confirmedThrough.accumulateAndGet(sequence, Math::max);
    }

    private CaptureRecord appendOrTrack(RecordKind kind, long offsetBytes, long lengthBytes, int flags,
            Provenance provenance, byte[] data) throws IOException {
        long size = encodedSize(provenance, data.length);
        if (lost.full()) {
            if (retainedBytes >= config.highWaterBytes()
                    || !storageError.isEmpty() && System.nanoTime() < storageRetryAtNanos || !roomToRetry(size)) {
                track(kind, offsetBytes, lengthBytes);
                return null;
            }
            appendGap();
        }
        boolean roll = needsRoll(size);
        if (retainedBytes + size + (roll ? SegmentHeader.FIXED_BYTES + volumeIdBytes : 0) > config.maxBytes()) {
            log.warn("capture buffer FULL, writes are no longer captured volume={} seq={} retainedBytes={} "
                    + "maxBytes={} acknowledged={}", volumeId, lastSequence, retainedBytes, config.maxBytes(),
                    cursors.snapshot());
            track(kind, offsetBytes, lengthBytes);
            return null;
        }
        CaptureRecord record = CaptureRecord.seal(volumeId, lastSequence + 1, nanosOf(clock.instant()), kind,
                offsetBytes, lengthBytes, flags, provenance, data);
        write(record, roll);
        if (kind == RecordKind.GAP) {
            changed.mark(offsetBytes, lengthBytes);
            lost.gapCounted();
        }
        return record;
    }

    /** Encoded bytes of a record of this buffer's volume with this provenance and payload size. */
    private long encodedSize(Provenance provenance, int payloadBytes) {
        return (long) RecordCodec.FIXED_BYTES + volumeIdBytes + RecordCodec.utf8Length(provenance.initiator())
                + RecordCodec.utf8Length(provenance.target()) + payloadBytes;
    }

    /**
     * Leaves FULL now if it can, as the next append would: when the high-water mark allows it and a
     * storage error's retry time has passed, appends the GAP naming the lost writes. For a poller
     * (the resync engine): without it, a FULL buffer whose space returned while the host is idle
     * and every remote has acknowledged stays FULL until the host writes again.
     *
     * @return whether the buffer stores records now (not FULL)
     */
    public synchronized boolean retryFull() throws IOException {
        checkOpen();
        if (!lost.full()) {
            return true;
        }
        if (!capturePaused.isEmpty() || retainedBytes >= config.highWaterBytes()
                || !storageError.isEmpty() && System.nanoTime() < storageRetryAtNanos || !roomToRetry(0)) {
            return false;
        }
        try {
            appendGap();
        } catch (IOException e) {
            storageError = e.getMessage() == null ? e.toString() : e.getMessage();
            storageRetryAtNanos = System.nanoTime() + STORAGE_RETRY_NANOS;
            return false;
        }
        if (!storageError.isEmpty()) {
            log.info("capture buffer writes succeed again volume={} after: {}", volumeId, storageError);
            storageError = "";
        }
        return true;
    }

    /**
     * Whether a storage error's retry may leave FULL: the buffer's file system has room for the
     * record and more ({@link #RETRY_ROOM_BYTES}). The GAP that leaves FULL is ~100 bytes and fits in
     * a segment's last block on a 100 % full file system, so without this FULL was left and entered
     * again at every host write, and the metrics said DATA most of the time (probe O O4). FULL by
     * the buffer's own bounds (no storage error) asks nothing of the file system.
     */
    private boolean roomToRetry(long recordBytes) {
        if (storageError.isEmpty()) {
            return true;
        }
        long usable;
        try {
            usable = Files.getFileStore(dir).getUsableSpace();
        } catch (IOException e) {
            return true; // cannot tell: the append itself will
        }
        if (usable >= Math.max(RETRY_ROOM_BYTES, 2 * recordBytes)) {
            return true;
        }
        storageRetryAtNanos = System.nanoTime() + STORAGE_RETRY_NANOS;
        return false;
    }

    /** A write-nature record that was not stored: remembered as lost (FULL) and its chunks tracked. */
    private void track(RecordKind kind, long offsetBytes, long lengthBytes) throws IOException {
        lost.record(kind, offsetBytes, lengthBytes);
        if (kind.changesData() || kind == RecordKind.GAP) {
            changed.mark(offsetBytes, lengthBytes);
        }
    }

    /**
     * Stops capture (durably, across restarts) for {@code why}: appends store nothing and track the
     * changed chunks instead; {@link #resumeCapture} lets a resync ship them.
     */
    public synchronized void pauseCapture(String why) throws IOException {
        checkOpen();
        changed.force();
        CapturePause.write(dir, why);
        capturePaused = why;
        log.warn("capture paused volume={} why={}: host writes continue, changed chunks are tracked", volumeId, why);
    }

    /** Resumes capture; the chunks tracked meanwhile are left for a resync. */
    public synchronized void resumeCapture() throws IOException {
        checkOpen();
        changed.force();
        CapturePause.clear(dir);
        capturePaused = "";
        log.info("capture resumed volume={} trackedChunks={}", volumeId, changed.count());
    }

    /** Why capture is paused, or empty. */
    public String capturePaused() {
        return capturePaused;
    }

    /** Whether the previous run ended without {@link #close} (every chunk was then marked changed). */
    public boolean uncleanShutdown() {
        return uncleanShutdown;
    }

    /** The persistent changed-chunk set (block tracking) that a resync drains. */
    public ChangedChunks changedChunks() {
        return changed;
    }

    /**
     * The last storage error of an append that turned into tracking, or empty once appends succeed
     * again; after {@link #fail}, {@code volume failed until restart: REASON} for good.
     */
    public String storageError() {
        String f = failure;
        return f.isEmpty() ? storageError : "volume failed until restart: " + f;
    }

    /**
     * Moves {@code remoteId}'s cursor back to {@code sequence} (a replayer that was rolled back
     * needs records it had acknowledged again).
     *
     * @throws SequenceNotRetainedException when records after {@code sequence} are no longer retained
     */
    public synchronized void rewind(String remoteId, long sequence) throws IOException {
        checkOpen();
        if (sequence + 1 < firstSequence()) {
            throw new SequenceNotRetainedException(volumeId, sequence + 1, firstSequence());
        }
        cursors.rewind(remoteId, sequence);
        if (released.containsKey(remoteId)) {
            endRelease(remoteId, "its cursor was moved back to its replica's seq " + sequence);
        }
    }

    private static void warnIfFilesystemSmall(Path dir, String volumeId, BufferConfig config) {
        try {
            long usable = Files.getFileStore(dir).getUsableSpace();
            long total = Files.getFileStore(dir).getTotalSpace();
            if (config.maxBytes() > total) {
                log.warn("capture buffer max {} bytes is larger than its whole filesystem ({} bytes, {} usable) "
                        + "volume={} dir={}: the filesystem fills first and the buffer then tracks changed chunks",
                        config.maxBytes(), total, usable, volumeId, dir);
            }
        } catch (IOException e) {
            log.debug("filesystem size unknown dir={} error={}", dir, e.toString());
        }
    }

    /**
     * Makes every record appended before this call durable (fdatasync), group-commit style. In
     * the write-once mode it forces only the tracking state (lost writes, changed chunks): the
     * records stay in the page cache, a crash is answered by the sequence floor and a resync.
     */
    public void sync() throws IOException {
        checkOpen();
        checkNotFailed();
        long target = lastSequence;
        try {
            if (!config.writeOnce() && (durableSequence.get() < target || directoryDirty)) {
                synchronized (syncLock) {
                    if (durableSequence.get() < target || directoryDirty) {
                        forceAppended();
                    }
                }
            }
            lost.force();
            changed.force();
        } catch (IOException e) {
            fail("capture buffer sync failed: " + e.getMessage());
            throw e;
        }
    }

    /**
     * Fails the buffer until it is reopened, after a failed fsync (its own, or the source
     * volume's, reported by the wedge): Linux may drop the dirty pages of a failed fsync and a
     * retry then succeeds without the data on disk, so every later {@link #sync} throws, status
     * shows the reason as the storage error, and {@link #close} leaves no clean-shutdown marker:
     * the next open tracks the activity log's extents (or every chunk) and a resync heals the replicas. Idempotent.
     */
    public void fail(String reason) {
        synchronized (failureLock) { // its own lock: called under this (a roll) and under syncLock (a sync)
            if (failure.isEmpty()) {
                failure = reason == null || reason.isEmpty() ? "failed" : reason;
                // WARN: the owner (wedge flusher, snoop router) says it at ERROR once, with what it means for the host.
                log.warn("capture buffer failed, no sync is trusted until restart volume={} dir={} reason={}", volumeId,
                        dir, failure);
            }
        }
    }

    /** Why the buffer failed ({@link #fail}), or empty. */
    public String failure() {
        return failure;
    }

    private void checkNotFailed() throws IOException {
        String f = failure;
        if (!f.isEmpty()) {
            throw new IOException("capture buffer failed: " + f + " (expected: a restart; a failed fsync is never"
                    + " retried) volume=" + volumeId + " dir=" + dir);
        }
    }

    /** Highest sequence known to be on stable storage (a {@link #sync} covered it). */
    public long durableSequence() {
        return durableSequence.get();
    }

    /** Highest sequence appended (0 when none yet). */
    public long lastSequence() {
        return lastSequence;
    }

    /** Sequence of the oldest retained record ({@link #lastSequence()} + 1 when none is retained). */
    public long firstSequence() {
        return segments.firstKey();
    }

    /**
     * Opens a reader positioned at the first retained record with sequence >= {@code fromSequence}.
     *
     * @throws SequenceNotRetainedException when {@code fromSequence} is older than the oldest retained record
     */
    public RecordReader openReader(long fromSequence) throws IOException {
        checkOpen();
        if (fromSequence < 1) {
            throw new IllegalArgumentException("fromSequence: " + fromSequence + " (expected: >= 1)");
        }
        while (true) {
            long first = firstSequence();
            if (fromSequence < first) {
                throw new SequenceNotRetainedException(volumeId, fromSequence, first);
            }
            Map.Entry<Long, CaptureSegment> floor = segments.floorEntry(fromSequence);
            CaptureSegment segment = floor.getValue();
            long positionBytes = segment.headerBytes();
            if (fromSequence > segment.baseSequence()) {
                try (FileChannel ch = FileChannel.open(segment.path(), StandardOpenOption.READ)) {
                    positionBytes = SegmentScanner.seek(ch, segment.headerBytes(), segment.publishedSizeBytes(),
                            fromSequence).endBytes();
                } catch (java.nio.file.NoSuchFileException e) {
                    continue; // Deleted after every remote acked it: look again, the check above will tell.
                }
            }
            RecordReader reader = new SegmentReader(this, segment, positionBytes, fromSequence);
            return discardingReader(reader);
        }
    }

    /** {@code reader} handing out a GAP for each data record of a discarded span (as they are when read). */
    private RecordReader discardingReader(RecordReader reader) {
        return new RecordReader() {
            @Override
            public CaptureRecord next(long timeoutMillis) throws IOException, InterruptedException {
                return discarded.apply(reader.next(timeoutMillis));
            }

            @Override
            public ByteBuffer nextEncoded(long timeoutMillis) throws IOException, InterruptedException {
                ByteBuffer bytes = reader.nextEncoded(timeoutMillis);
                DiscardedSpans spans = discarded;
                if (bytes == null || !spans.covers(RecordCodec.sequenceOf(bytes))) {
                    return bytes; // the stored bytes, as they are
                }
                CaptureRecord replaced = spans.apply(RecordCodec.decode(bytes.duplicate()));
                return ByteBuffer.wrap(RecordCodec.encode(replaced)).asReadOnlyBuffer();
            }

            @Override
            public long position() {
                return reader.position();
            }

            @Override
            public void close() throws IOException {
                reader.close();
            }
        };
    }

    /**
     * Discards the queued records {@code from..to} (inclusive): their data will not ship (see
     * {@link DiscardedSpans}); the ranges they touched are tracked as changed chunks, durably,
     * before the span is recorded, so a resync copies them from the volume. Only records no remote
     * acknowledged yet can be discarded.
     *
     * @return one line: the span, its data records and bytes
     * @throws IllegalArgumentException for a span outside the unacknowledged records (one line)
     */
    public String discard(long from, long to, String actor) throws IOException, InterruptedException {
        long acked = 0;
        for (long a : cursors.snapshot().values()) {
            acked = Math.max(acked, a);
        }
        long last = lastSequence;
        if (from < 1 || to < from) {
            throw new IllegalArgumentException("span: " + from + ".." + to + " (expected: 1 <= from <= to)");
        }
        if (from <= acked || from < firstSequence()) {
            throw new IllegalArgumentException("--from-seq: " + from + " (expected: > " + Math.max(acked,
                    firstSequence() - 1) + ": records up to there were acknowledged by a remote or are gone)");
        }
        if (to > last) {
            throw new IllegalArgumentException("--to-seq: " + to + " (expected: <= " + last + ", the newest record)");
        }
        long records = 0;
        long bytes = 0;
        try (RecordReader reader = openReader(from)) { // spans discarded before read as GAPs: already tracked
            while (reader.position() <= to) {
                CaptureRecord r = reader.next(1000);
                if (r == null) {
                    break;
                }
                if (r.kind().changesData()) {
                    changed.mark(r.offsetBytes(), r.lengthBytes());
                    records++;
                    bytes += r.lengthBytes();
                }
            }
        }
        changed.force();
        synchronized (this) {
            DiscardedSpans next = discarded.with(new DiscardedSpans.Span(from, to, clock.millis(), actor),
                    firstSequence());
            next.write(dir);
            discarded = next;
        }
        log.warn("records discarded volume={} span={}..{} dataRecords={} bytes={} actor={}", volumeId, from, to,
                records, bytes, actor);
        return "volume " + volumeId + ": records " + from + ".." + to + " discarded (" + records + " data records, "
                + bytes + " bytes): they ship as GAPs and their chunks are resynced from the volume";
    }

    /** Registers a remote (idempotent); a new remote starts after the oldest retained record - 1. */
    public synchronized void registerRemote(String remoteId) throws IOException {
        checkOpen();
        cursors.register(remoteId, firstSequence() - 1);
    }

    /** The last sequence {@code remoteId} acknowledged as durably applied. */
    public long acknowledged(String remoteId) {
        return cursors.get(remoteId);
    }

    /**
     * Records (durably) that {@code remoteId} has applied every record up to {@code sequence};
     * deletes segments every remote has acknowledged. A sequence at or below the remote's
     * current one is ignored.
     */
    public void acknowledge(String remoteId, long sequence) throws IOException {
        checkOpen();
        long last = lastSequence;
        if (sequence > last) {
            throw new IllegalArgumentException("sequence: " + sequence + " (expected: <= lastSequence " + last
                    + ") remote=" + remoteId + " volume=" + volumeId);
        }
        if (cursors.advance(remoteId, sequence)) {
            ReleasedRemotes.Release r = released.get(remoteId);
            if (r != null && sequence > r.releasedAt()) {
                endRelease(remoteId, "acknowledged seq " + sequence);
            }
            RetiredFiles.delete(releaseAcknowledged(false)); // without the lock; a crash first leaves them for open
        }
    }

    /**
     * Stops keeping records for {@code remoteId}, a remote whose cursor alone holds the buffer while
     * others wait (its link down for long, the buffer FULL): its cursor moves to {@code sequence},
     * and segments every other remote acknowledged are freed. What it really acknowledged is
     * recorded first ({@link ReleasedRemotes}), so that status keeps telling its replica's truth;
     * when it returns, its replica continues from the records still held or, behind them, from a
     * full resync (the shipper's resume rule). Nothing happens when its cursor is at or past
     * {@code sequence}.
     */
    public void releaseRemote(String remoteId, long sequence, String why) throws IOException {
        checkOpen();
        long acked = cursors.get(remoteId);
        if (sequence <= acked || sequence > lastSequence) {
            return;
        }
        ReleasedRemotes.Release earlier = released.get(remoteId);
        ReleasedRemotes.Release r = earlier == null ? new ReleasedRemotes.Release(acked, sequence, clock.millis(), why)
                : new ReleasedRemotes.Release(Math.min(earlier.acknowledged(), acked), sequence, earlier.millis(),
                        earlier.why()); // when and why it was first released
        setRelease(remoteId, r);
        if (earlier == null) {
            log.warn("remote released volume={} remote={} acknowledged={} cursorMovedTo={} why={}: records {}..{} are no"
                    + " longer kept for it; its replica is resynced when it returns", volumeId, remoteId,
                    r.acknowledged(), sequence, why, r.acknowledged() + 1, sequence);
        } else { // still down while the others go on: its cursor follows theirs
            log.debug("released remote's cursor moved volume={} remote={} to={}", volumeId, remoteId, sequence);
        }
        if (cursors.advance(remoteId, sequence)) {
            RetiredFiles.delete(releaseAcknowledged(false));
        }
    }

    /** Records {@code remoteId}'s release durably, then in memory (null: ends it). */
    private void setRelease(String remoteId, ReleasedRemotes.Release r) throws IOException {
        synchronized (releasedLock) {
            if (r == null) {
                ReleasedRemotes.clear(dir, remoteId);
            } else {
                ReleasedRemotes.write(dir, remoteId, r);
            }
            java.util.Map<String, ReleasedRemotes.Release> next = new java.util.TreeMap<>(released);
            if (r == null) {
                next.remove(remoteId);
            } else {
                next.put(remoteId, r);
            }
            released = java.util.Map.copyOf(next);
        }
    }

    /** Why each released remote was released (see {@link #releaseRemote}); empty when none is. */
    public java.util.Map<String, String> releasedRemotes() {
        return ReleasedRemotes.texts(released);
    }

    private void endRelease(String remoteId, String how) throws IOException {
        setRelease(remoteId, null);
        log.info("remote release ended volume={} remote={}: {}", volumeId, remoteId, how);
    }

    /** Current figures for status and metrics. */
    public BufferStatus status() {
        long first;
        long last;
        long retained;
        BufferMode mode;
        synchronized (this) {
            first = firstSequence();
            last = lastSequence;
            retained = retainedBytes;
            mode = mode();
        }
        Map<String, ReleasedRemotes.Release> releases = released;
        Map<String, Long> acks = ReleasedRemotes.truthOf(cursors.snapshot(), releases);
        long oldest = 0;
        long minAck = cursors.minimum();
        if (minAck != Long.MAX_VALUE && minAck < last) {
            oldest = oldestUnacked.captureTimeOf(minAck + 1);
        }
        return new BufferStatus(volumeId, mode, first, last, retained, config.highWaterBytes(), config.maxBytes(),
                acks, oldest, lost.count(), lost.gapRecords(), changed.count(),
                ChangedChunks.WholeVolumeCause.textOf(changed.wholeVolumeCause()),
                storageError(), capturePaused,
                config.writeOnce() ? BufferStatus.WRITE_ONCE : BufferStatus.DURABLE,
                activity == null ? BufferStatus.WHOLE_VOLUME : activity.compareBytesAfterCrash(config.writeOnce()),
                activity == null ? -1 : Math.max(activity.coldThrough(), changed.sinceSequence()),
                ReleasedRemotes.texts(releases));
    }

    /**
     * The process that has the buffer of {@code volumeDir} open (a wedge or a snoop: the holder of
     * its lock, read without taking it), or {@link io.tapline.log.ExclusiveLock#NOBODY} /
     * {@link io.tapline.log.ExclusiveLock#UNKNOWN}.
     */
    public static long runningWriter(Path volumeDir) {
        return io.tapline.log.ExclusiveLock.holder(volumeDir.resolve(LOCK_FILE));
    }

    /** Reads the status of a buffer directory from its files, for another process. */
    public static BufferStatus readStatus(Path volumeDir) throws IOException {
        return BufferStatusReader.read(volumeDir);
    }

    /** The volume this buffer holds. */
    public String volumeId() {
        return volumeId;
    }

    /**
     * This buffer's identity: random, non-zero, drawn when its directory was first opened and kept
     * for its life ({@code buffer.id}). A buffer recreated empty, whose sequences start again from 1,
     * has another: a log shipped from both tells their histories apart by it.
     */
    public long bufferId() {
        return bufferId;
    }

    @Override
    public void close() throws IOException {
        synchronized (syncLock) {
            synchronized (this) {
                if (closed) {
                    return;
                }
                try {
                    if (failure.isEmpty()) {
                        active.finishAppending();
                        forceAppended();
                    }
                    lost.close();
                    changed.close();
                    if (activity != null) {
                        log.info("activity log closed volume={} transactions={} pagesWritten={} hotExtents={}", volumeId,
                                activity.transactions(), activity.pagesWritten(), activity.hotCount());
                        activity.close();
                    }
                    if (failure.isEmpty()) {
                        DurableFiles.replace(dir.resolve(CLEAN_SHUTDOWN_FILE), new byte[0]);
                    } else {
                        log.warn("capture buffer closed without a clean-shutdown marker volume={} reason={}: the next"
                                + " open tracks the activity log's extents (every chunk without one)", volumeId, failure);
                    }
                } finally {
                    closed = true;
                    for (CaptureSegment segment : segments.values()) {
                        segment.close();
                    }
                    wakeReaders();
                    lock.close();
                }
            }
        }
        log.info("capture buffer closed volume={} lastSeq={}", volumeId, lastSequence);
    }

    // ---- writer internals (under this) ----

    private boolean needsRoll(long recordBytes) {
        return !active.isEmpty() && active.publishedSizeBytes() + recordBytes > config.segmentBytes();
    }

    private void write(CaptureRecord record, boolean roll) throws IOException {
        if (roll) {
            roll(record.sequence());
        }
        headerBuffer.clear();
        RecordCodec.writeHeader(record, headerBuffer);
        headerBuffer.flip();
        long size = headerBuffer.remaining() + (long) record.payload().length;
        if (reservation != null) {
            reservation.cover(record.sequence());
        }
        gather[0] = headerBuffer;
        gather[1] = ByteBuffer.wrap(record.payload());
        active.append(gather, record.sequence(), size);
        gather[1] = null;
        retainedBytes += size;
        lastSequence = record.sequence();
        if (activity != null && record.kind().changesData()) {
            activity.touch(record.offsetBytes(), record.lengthBytes(), record.sequence());
        }
        wakeReaders();
    }

    /**
     * Starts a new segment. The segment rolled away from is forced first, with the directory
     * entry it was created with: once the next file exists on disk every earlier segment is
     * complete, so a power cut can tear only the last segment, which recovery trims.
     */
    private void roll(long baseSequence) throws IOException {
        CaptureSegment previous = active;
        if (config.writeOnce()) {
            previous.finishAppending();
            unforced.add(previous); // forced by a clean close, or deleted unforced once acknowledged
        } else {
            try {
                previous.finishAppending();
                previous.force();
            } catch (IOException e) {
                fail("capture buffer segment fsync failed: " + e.getMessage());
                throw e;
            }
            DurableFiles.syncDirectory(dir); // Always: a concurrent sync may have taken the dirty flag but not synced yet.
            durableSequence.accumulateAndGet(previous.lastSequence(), Math::max);
        }
        CaptureSegment next = CaptureSegment.create(dir, baseSequence, volumeId)
                .directAppendsFrom(config.effectiveDirectAppendMinBytes(), staging);
        segments.put(baseSequence, next); // Readers find the next segment before the old one is sealed.
        active = next;
        previous.seal();
        if (!config.writeOnce()) {
            previous.release(); // forced above: its descriptor back (a write-once one's at its force, below)
        }
        directoryDirty = true;
        retainedBytes += next.publishedSizeBytes();
        log.debug("segment rolled volume={} file={} previous={}", volumeId, next.path().getFileName(), previous);
    }

    /**
     * Continues this buffer's numbering after {@code replicaSequence}: a replica applied records up
     * to there that this buffer never held (a new or replaced buffer in front of replicas that
     * follow an older one; a replica promoted and demoted elsewhere). Sequences never go back on a
     * replica (its undo log, marks and audit only move forward), so the buffer jumps instead: a new
     * segment starts at {@code replicaSequence + 1} with a GAP that says the records before it are
     * not this buffer's ({@link CaptureRecord#FLAG_RECORDS_LOST}), forced with the directory before
     * this returns. Readers cross the hole at that GAP; a replica still behind it continues there,
     * out of sync until a resync compares the volume. A power cut before the GAP was forced leaves
     * an empty segment past the hole, which the next open deletes (the jump is then asked again).
     *
     * @return whether the buffer jumped (false: it already numbers past {@code replicaSequence})
     */
    public boolean numberPast(long replicaSequence, String why) throws IOException {
        CaptureRecord gap;
        synchronized (this) {
            checkOpen();
            if (replicaSequence <= lastSequence) {
                return false;
            }
            if (!storageError.isEmpty()) {
                throw new IOException("capture buffer cannot number past seq " + replicaSequence + " volume=" + volumeId
                        + ": " + storageError);
            }
            byte[] reason = why.getBytes(StandardCharsets.UTF_8);
            gap = CaptureRecord.seal(volumeId, replicaSequence + 1, nanosOf(clock.instant()), RecordKind.GAP, 0, 0,
                    CaptureRecord.FLAG_RECORDS_LOST, Provenance.INTERNAL, reason);
            long skipped = replicaSequence - lastSequence;
            roll(replicaSequence + 1);
            write(gap, false);
            lost.gapCounted();
            log.warn("capture buffer numbers past a replica's history volume={} lastRecord={} nextRecord={} ({} sequences"
                    + " skipped): {}", volumeId, replicaSequence - skipped, gap.sequence(), skipped, why);
        }
        forceAppended(); // the GAP is durable before any reader is handed it (shippers ship durable records only)
        return true;
    }

    /** Appends the GAP record covering the lost writes, makes it durable, then forgets them. */
    private void appendGap() throws IOException {
        byte[] reason = lost.gapReason().getBytes(StandardCharsets.UTF_8);
        CaptureRecord gap = CaptureRecord.seal(volumeId, lastSequence + 1, nanosOf(clock.instant()), RecordKind.GAP,
                lost.gapOffsetBytes(), lost.gapLengthBytes(), 0, Provenance.INTERNAL, reason);
        write(gap, needsRoll(gap.encodedSize()));
        forceAppended(); // The lost writes are forgotten only once the GAP naming them is durable.
        long lostWrites = lost.count();
        lost.gapAppended();
        log.info("capture buffer left FULL, GAP recorded volume={} seq={} offset={} length={} lostWrites={}",
                volumeId, gap.sequence(), gap.offsetBytes(), gap.lengthBytes(), lostWrites);
    }

    /**
     * Takes the segments every remote acknowledged out of the buffer (retired: renamed, see
     * {@link RetiredFiles}) and returns their files, which the caller deletes after it has let go
     * of the buffer's lock; leaves FULL when that freed enough space. Why not delete them here:
     * on ext4 with {@code discard} the unlink of a 64 MiB segment takes 22-24 ms (the blocks'
     * discard), a rename 0.05 ms, and every append waits for this lock
     * (docs/benchmarks.md#retired-buffer-segments).
     */
    private synchronized List<Path> releaseAcknowledged(boolean roomWanted) throws IOException {
        List<Path> retired = new ArrayList<>();
        if (closed) {
            return retired;
        }
        long minAck = cursors.minimum();
        if (!active.isEmpty() && active.lastSequence() <= minAck
                && (lost.full() || retainedBytes > config.highWaterBytes() || roomWanted)) {
            roll(lastSequence + 1); // Space is short and the active segment is all acknowledged: free it too.
        }
        for (CaptureSegment segment : segments.values()) {
            if (segment == active || segment.lastSequence() > minAck) {
                break;
            }
            segments.remove(segment.baseSequence());
            unforced.remove(segment);
            retainedBytes -= segment.publishedSizeBytes();
            retired.add(segment.retire());
            log.debug("segment retired, acknowledged by every remote volume={} file={}", volumeId,
                    segment.path().getFileName());
        }
        if (lost.full() && retainedBytes < config.highWaterBytes()) {
            appendGap();
        }
        return retired;
    }

    private BufferMode mode() {
        if (lost.full()) {
            return BufferMode.FULL;
        }
        return retainedBytes > config.highWaterBytes() ? BufferMode.HIGH_WATER : BufferMode.DATA;
    }

    // ---- durability ----

    /** Forces every segment written since the last force, and the directory if a segment was created. */
    private void forceAppended() throws IOException {
        long upTo;
        List<CaptureSegment> toForce;
        boolean directory;
        synchronized (this) {
            upTo = lastSequence;
            toForce = new ArrayList<>(unforced);
            toForce.add(active);
            unforced.clear();
            directory = directoryDirty;
            directoryDirty = false;
        }
        try {
            for (CaptureSegment segment : toForce) {
                segment.force();
            }
            if (directory) {
                DurableFiles.syncDirectory(dir);
            }
            for (CaptureSegment segment : toForce) {
                if (segment.sealed() && !segment.released() && !segment.deleted()) {
                    segment.release(); // a write-once segment forced at last: its descriptor back
                }
            }
        } catch (IOException | RuntimeException e) {
            synchronized (this) {
                toForce.remove(active);
                toForce.removeIf(CaptureSegment::deleted);
                unforced.addAll(toForce);
                directoryDirty |= directory;
            }
            throw e;
        }
        durableSequence.accumulateAndGet(upTo, Math::max);
    }

    // ---- readers ----

    /** The segment after the one starting at {@code baseSequence}, or null (readers cross a numbering hole with it). */
    CaptureSegment segmentAfter(long baseSequence) {
        Map.Entry<Long, CaptureSegment> e = segments.higherEntry(baseSequence);
        return e == null ? null : e.getValue();
    }

    CaptureSegment segmentStartingAt(long baseSequence) {
        return segments.get(baseSequence);
    }

    /** Waits until a record with {@code sequence} is appended, the buffer closes, or the time runs out. */
    void awaitSequence(long sequence, long timeoutNanos) throws InterruptedException, IOException {
        waitLock.lock();
        try {
            waiters++;
            try {
                long left = timeoutNanos;
                while (lastSequence < sequence && !closed && left > 0) {
                    left = appended.awaitNanos(left);
                }
            } finally {
                waiters--;
            }
        } finally {
            waitLock.unlock();
        }
        checkOpen();
    }

    /** Readers blocked in {@link RecordReader#next} right now (for tests and diagnostics). */
    int waitingReaders() {
        return waiters;
    }

    private void wakeReaders() {
        // A reader increments waiters before it re-checks lastSequence; the writer publishes
        // lastSequence before it reads waiters: one of the two sees the other.
        if (waiters > 0) {
            waitLock.lock();
            try {
                appended.signalAll();
            } finally {
                waitLock.unlock();
            }
        }
    }

    // ---- misc ----

    private void checkOpen() throws IOException {
        if (closed) {
            throw new IOException("capture buffer closed volume=" + volumeId + " dir=" + dir);
        }
    }

    private void closeQuietlyAfter(Exception cause) {
        for (CaptureSegment segment : segments.values()) {
            try {
                segment.close();
            } catch (IOException e) {
                cause.addSuppressed(e);
            }
        }
        try {
            lost.close();
            changed.close();
            if (activity != null) {
                activity.close();
            }
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }

    private static void deleteLeftoverTempFiles(Path dir) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + DurableFiles.TEMP_SUFFIX)) {
            for (Path f : files) {
                Files.delete(f);
            }
        }
    }


    /** UTC nanoseconds since the epoch. */
    static long nanosOf(Instant instant) {
        return instant.getEpochSecond() * 1_000_000_000L + instant.getNano();
    }

    /** Capture time of the oldest unacknowledged record, cached per sequence. */
    private final class OldestUnacked {
        private long cachedSequence;
        private long cachedTimeNanos;

        synchronized long captureTimeOf(long sequence) {
            if (sequence == cachedSequence) {
                return cachedTimeNanos;
            }
            Map.Entry<Long, CaptureSegment> floor = segments.floorEntry(sequence);
            if (floor == null) {
                return 0;
            }
            CaptureSegment segment = floor.getValue();
            try (FileChannel ch = FileChannel.open(segment.path(), StandardOpenOption.READ)) {
                SegmentScanner.Found found = SegmentScanner.seek(ch, segment.headerBytes(),
                        segment.publishedSizeBytes(), sequence);
                if (found.entry() == null || found.entry().sequence() != sequence) {
                    return 0;
                }
                cachedSequence = sequence;
                cachedTimeNanos = found.entry().captureTimeNanos();
                return cachedTimeNanos;
            } catch (IOException e) {
                // Status is best effort while segments are deleted under it; report "unknown".
                log.debug("oldest unacked capture time unavailable volume={} seq={} cause={}", volumeId, sequence,
                        e.toString());
                return 0;
            }
        }
    }
}
