package io.tapline.log.undo;

import io.tapline.log.RecordKind;
import io.tapline.log.RetiredFiles;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A volume's rollback log: a directory of {@link UndoSegment}s holding, for every record applied
 * to the replica, the bytes that record overwrote (see {@link UndoRecord}).
 *
 * <h2>Ordering contract</h2>
 * The replayer appends the before-images of a whole batch, calls {@link #sync} once, and only
 * then writes the batch to the replica. Worked example, replica byte 0 = 'a' before the batch:
 * <pre>
 * batch: seq 7 WRITE off=0 "b", seq 8 WRITE off=0 "c"
 * undo:  append (7, off 0, "a"), append (8, off 0, "b")   before-image of 8 = replica + overlay of 7
 * sync:  fdatasync(undo segment)                          both before-images durable
 * apply: pwrite "b", pwrite "c", fdatasync(replica), applied.state = 8
 * crash anywhere after the sync: the replica holds any mix of a, b, c at byte 0; applying the
 * undo records above the durable applied sequence newest first (8 then 7) restores 'a' exactly.
 * </pre>
 * That is why rollback, and recovery of a half-applied batch, are both "apply every undo record
 * above the target, newest first": for each byte the last one applied is the oldest saved
 * before-image above the target, which is the byte's value at the target, whatever state the
 * replica was in. Applying them again after a crash gives the same result (idempotent).
 *
 * <p>Retention: sealed segments are deleted oldest first while the log exceeds
 * {@link UndoConfig#maxBytes} or their records were applied longer ago than {@link UndoConfig#maxAge}
 * on this replayer's clock (the next segment's creation time bounds them);
 * the replica stays current, only the window shrinks. The active segment is never deleted.
 * With {@link #recycleSegmentsWhen} one dropped segment is kept aside (retired, so that no
 * listing sees it) and reused as the next new segment ({@link UndoSegment#recycle}): its blocks
 * are overwritten instead of freed and allocated again. The log then takes up to one segment more
 * on disk than {@link Window#bytes} says.
 *
 * <p>Not thread-safe. The writer is the volume's apply thread; a reader ({@link #openReadOnly})
 * sees the records complete at the time it opened and never changes a file.
 */
public final class UndoLog implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(UndoLog.class);
    /**
     * Restored bytes between two durable points of a rollback (the replica synced, the applied
     * records dropped): at most this much, plus the rest of a segment, is applied again after a
     * crash. Each point costs a replica sync and, when it falls inside a segment, an ftruncate
     * and fsync (15 ms each here). At 32 MiB and at every segment's end, a rollback of 1 GiB made
     * 49 replica syncs and 33 cuts; at 256 MiB it makes 5 syncs and no cut with 64 MiB segments,
     * and is about 10 % faster (docs/benchmarks.md#rollback-durable-points).
     */
    static final long DURABLE_POINT_BYTES = 256L << 20;

    private final Path dir;
    private final UndoConfig config;
    private final Clock clock;
    private final boolean writable;
    private final List<UndoSegment> segments = new ArrayList<>();
    /** The writer's pending and staging memory, handed from segment to segment. */
    private final UndoAppendMemory appendMemory = new UndoAppendMemory();
    /** Segments a rollback retired ({@link RetiredFiles}) and {@link #deleteRetired} has not taken yet. */
    private final List<Path> retired = new ArrayList<>();
    /** A segment retention retired, kept to be reused as the next new segment; null if none. */
    private Path spare;
    /**
     * Bytes of retired files on disk the window counts: the writer's {@link #spare}; for a
     * read-only open, every retired file its listing found.
     */
    private long retiredBytes;
    /** Says whether a spare may be overwritten now (no reader has it open); null: never recycle. */
    private java.util.function.BooleanSupplier recycleAllowed;
    private long droppedBytes;
    private boolean dirDirty;
    private long totalBytes;

    /** Applies before-images to the replica (or to an image being materialised). */
    public interface Applier {
        /** Writes the record's old bytes over its range. */
        void apply(UndoRecord record) throws IOException;

        /** Makes everything applied so far durable. */
        void force() throws IOException;
    }

    /** Told after each applied undo record: how many of {@code total} are done. */
    public interface Progress {
        void update(long done, long total);
    }

    /**
     * The rollback window.
     *
     * @param empty                   no undo record is held: only the current state is reachable
     * @param oldestReachableSequence the oldest sequence a rollback can reach
     * @param oldestTimeNanos         capture time of the first record above it (the window opens just before)
     * @param newestSequence          the newest record with a before-image
     * @param bytes                   bytes the log's segments take on disk
     * @param segments                segment files
     * @param diskBytes               bytes the log's directory takes: {@code bytes}, plus a recycled newest
     *                                segment's older records not yet overwritten and the segment kept
     *                                for reuse (up to a segment each), and, as a reader sees the
     *                                directory, segments retired and not deleted yet
     */
    public record Window(boolean empty, long oldestReachableSequence, long oldestTimeNanos, long newestSequence,
            long bytes, int segments, long diskBytes) {
    }

    private UndoLog(Path dir, UndoConfig config, Clock clock, boolean writable) {
        this.dir = dir;
        this.config = config;
        this.clock = clock;
        this.writable = writable;
    }

    /** Opens (creating the directory) for writing; a torn tail of the newest segment is trimmed. */
    public static UndoLog open(Path dir, UndoConfig config, Clock clock) throws IOException {
        Files.createDirectories(dir);
        UndoLog undo = new UndoLog(dir, config, clock, true);
        undo.load();
        return undo;
    }

    /**
     * Opens for reading only: nothing is trimmed, created or deleted.
     *
     * <p>A running writer changes the log while it is read: retention deletes or reuses the
     * oldest segments (a listed file is gone, or holds a newer segment's header and records by
     * the time it is read), and an append may land between two reads of the newest segment (a
     * record read as the zeros past the end, then valid records after it: damage, to a scan).
     * Each reads as a damaged or missing segment, so a failed open is tried again from a fresh
     * listing, up to {@link #READ_ATTEMPTS} times: what the writer was doing has moved on by
     * then, while real damage fails every attempt and is reported as the last one found it.
     */
    public static UndoLog openReadOnly(Path dir) throws IOException {
        for (int attempt = 1; ; attempt++) {
            UndoLog undo = new UndoLog(dir, UndoConfig.DEFAULT, Clock.systemUTC(), false);
            try {
                if (Files.isDirectory(dir)) {
                    undo.load();
                }
                return undo;
            } catch (UndoFormatException | java.nio.file.NoSuchFileException e) {
                if (attempt == READ_ATTEMPTS) {
                    throw e;
                }
                log.debug("undo log read again: a writer changed it while it was read, or it is damaged dir={} "
                        + "attempt={} problem={}", dir, attempt, e.toString());
                pauseBeforeAttempt(attempt);
            }
        }
    }

    /** How many times {@link #openReadOnly} reads a log that a writer may be changing before it reports damage. */
    static final int READ_ATTEMPTS = 5;

    private static void pauseBeforeAttempt(int attempt) throws java.io.InterruptedIOException {
        try {
            // A sleep, not a wait: the writer is usually another process (the replayer), so there is
            // no event to wait for, and a read-only open is never on the apply or capture path (a
            // CLI's window, an image). 1, 2, 3, 4 ms: longer than a writer's append or retention
            // step, 10 ms at most before real damage is reported.
            Thread.sleep(attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while reading the undo log of a running writer");
        }
    }

    private void load() throws IOException {
        if (writable) {
            int left = RetiredFiles.deleteLeftovers(dir);
            if (left > 0) {
                log.info("undo log deleted {} segment(s) a rollback had retired before an exit or a crash dir={}", left, dir);
                dirDirty = true;
            }
        }
        List<Path> files = new ArrayList<>();
        List<Path> retiredFound = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(p -> {
                if (p.getFileName().toString().endsWith(UndoSegment.SUFFIX)) {
                    files.add(p);
                } else if (RetiredFiles.isRetired(p)) {
                    retiredFound.add(p);
                }
            });
        }
        files.sort(null);
        if (!writable) {
            retiredBytes = sizeOf(retiredFound);
        }
        try {
            for (int i = 0; i < files.size(); i++) {
                boolean newest = i == files.size() - 1;
                if (newest && UndoSegment.unwrittenHeader(files.get(i))) {
                    log.warn("undo log recovery dropped a segment whose header never reached the disk (power cut"
                            + " while creating it) file={}", files.get(i));
                    if (writable) {
                        Files.delete(files.get(i));
                        dirDirty = true;
                    }
                    continue;
                }
                UndoSegment seg = UndoSegment.open(files.get(i), writable, newest).appendingThrough(appendMemory);
                if (seg.droppedBytes() > 0 && !newest) {
                    seg.close();
                    throw new UndoFormatException("sealed segment ends in a damaged record (" + seg.droppedBytes()
                            + " bytes) file=" + files.get(i));
                }
                droppedBytes += seg.droppedBytes();
                if (seg.count() == 0 && writable) {
                    seg.close();
                    Files.delete(files.get(i));
                    dirDirty = true;
                    continue;
                }
                segments.add(seg);
                totalBytes += seg.sizeBytes();
            }
            findMissingRecords();
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
        if (dirDirty) {
            syncDirectory();
        }
        if (droppedBytes > 0 && !writable) {
            // A reader cuts nothing: what it did not index is a writer's append in flight, its
            // padding, or the older records of the reused segment it appends to (every open of
            // a running replayer's log, not worth a warning).
            log.debug("undo log read up to the newest segment's last valid record dir={} bytesPastIt={}", dir,
                    droppedBytes);
        } else if (droppedBytes > 0) {
            // What a power cut left unsynced, a direct append's padding, or a reused segment's older records.
            log.warn("undo log recovery cut the newest segment after its last valid record (a torn tail, or the older"
                    + " records of a reused segment) dir={} droppedBytes={}", dir, droppedBytes);
        }
    }

    /**
     * Every applied record leaves an undo record (a note for those that change no data), so each
     * record's sequence follows the one before it, in a segment and across segments, except where
     * the replica's sequence legitimately jumped: to a RESYNC_BEGIN (a full resync past records the
     * source no longer held) or a GAP (the source lost records in a power cut). Any other jump means
     * records missing from the log (a segment gone from its middle, a synced tail lost by a disk
     * that lied about a flush and written over since): a rollback across it would rebuild bytes
     * from before-images that skip those records, and call them exact. The window then starts
     * after the newest such jump ({@link #missingThrough}), so no rollback reaches past it.
     */
    private void findMissingRecords() {
        long last = -1;
        for (UndoSegment s : segments) {
            for (int i = 0; i < s.count(); i++) {
                long seq = s.sequenceAt(i);
                if (last >= 0 && seq > last + 1) {
                    RecordKind kind = s.kindAt(i);
                    if (kind != RecordKind.RESYNC_BEGIN && kind != RecordKind.GAP) {
                        missingThrough = seq - 1;
                        log.error("undo log is missing the records of seq {}..{} dir={}: rollback reaches back to seq"
                                + " {} only", last + 1, seq - 1, dir, seq - 1);
                    }
                }
                last = Math.max(last, seq);
            }
        }
    }

    /** The newest sequence below which records are missing from the log ({@link #findMissingRecords}); -1: none. */
    private long missingThrough = -1;

    /**
     * Lets retention keep one dropped segment aside and reuse it as the next new segment when
     * {@code noReaderHoldsIt} says, at that moment, that no reader can still have it open (a
     * reader that opened the log before retention took the segment reads it by the descriptor it
     * kept; reused in place, its bytes would change under that reader). When it says no, the
     * spare is deleted and a new file made. Without this call segments are never reused.
     */
    public UndoLog recycleSegmentsWhen(java.util.function.BooleanSupplier noReaderHoldsIt) {
        checkWritable();
        this.recycleAllowed = noReaderHoldsIt;
        return this;
    }

    /** Bytes recovery cut from a torn tail when the log was opened. */
    public long recoveredDroppedBytes() {
        return droppedBytes;
    }

    /**
     * Appends a before-image (page cache; {@link #sync} makes it durable). Sequences never go
     * down; several records of one sequence are allowed (a long range split up).
     */
    public void append(UndoRecord r) throws IOException {
        UndoSegment active = activeFor(r.sequence());
        long before = active.sizeBytes();
        active.append(r);
        totalBytes += active.sizeBytes() - before;
    }

    /**
     * Appends the before-image held in {@code old}'s remaining bytes (at most 1 MiB), as
     * {@link #append(UndoRecord)} of {@link UndoRecord#of} would, without copying it to the heap
     * first: the bytes go straight into the segment's pending buffer. {@code old} is not changed.
     */
    public void appendBeforeImage(long sequence, long captureTimeNanos, RecordKind kind, long offsetBytes,
            ByteBuffer old) throws IOException {
        UndoSegment active = activeFor(sequence);
        long before = active.sizeBytes();
        active.append(sequence, captureTimeNanos, kind, offsetBytes, old);
        totalBytes += active.sizeBytes() - before;
    }

    /** The segment the next record of {@code sequence} goes to: a new one past the size limit. */
    private UndoSegment activeFor(long sequence) throws IOException {
        checkWritable();
        long newest = newestSequence();
        if (sequence < newest) {
            throw new IllegalArgumentException("sequence: " + sequence + " (expected: >= " + newest
                    + ", the newest undo record) dir=" + dir);
        }
        UndoSegment active = segments.isEmpty() ? null : segments.get(segments.size() - 1);
        if (active == null || (active.sizeBytes() >= config.segmentBytes() && sequence > newest)) {
            if (active != null) {
                active.seal(); // sync() only forces the newest segment from now on
            }
            active = newSegment(sequence).appendingThrough(appendMemory);
            segments.add(active);
            totalBytes += active.sizeBytes();
            dirDirty = true;
        }
        return active;
    }

    /** The new empty segment of {@code sequence}: the spare reused when there is one and it may be. */
    private UndoSegment newSegment(long sequence) throws IOException {
        Path reuse = spare;
        spare = null;
        retiredBytes = 0;
        if (reuse != null) {
            if (recycleAllowed != null && recycleAllowed.getAsBoolean()) {
                try {
                    return UndoSegment.recycle(reuse, dir, sequence, clock.millis());
                } catch (IOException e) {
                    log.warn("undo segment not reused, a new one is made instead file={}: {}", reuse, e.toString());
                }
            }
            retired.add(reuse);
            deleteRetired();
        }
        return UndoSegment.create(dir, sequence, clock.millis());
    }

    /** Makes every appended record durable (fdatasync; directory fsync after a new segment). */
    public void sync() throws IOException {
        checkWritable();
        if (segments.isEmpty()) {
            return;
        }
        segments.get(segments.size() - 1).force();
        if (dirDirty) {
            syncDirectory();
        }
    }

    /** Sequence of the newest record held, 0 if none. */
    public long newestSequence() {
        for (int i = segments.size() - 1; i >= 0; i--) {
            UndoSegment s = segments.get(i);
            if (s.count() > 0) {
                return s.sequenceAt(s.count() - 1);
            }
        }
        return 0;
    }

    /** The current rollback window. */
    public Window window() {
        if (segments.isEmpty() || segments.get(0).count() == 0) {
            return new Window(true, newestSequence(), 0, newestSequence(), totalBytes, segments.size(), diskBytes());
        }
        UndoSegment oldest = segments.get(0);
        long reach = oldest.sequenceAt(0) - 1;
        long time = oldest.timeAt(0);
        if (missingThrough > reach) {
            reach = missingThrough;
            time = captureTimeAbove(missingThrough);
        }
        return new Window(false, reach, time, newestSequence(), totalBytes, segments.size(), diskBytes());
    }

    private long diskBytes() {
        long sum = retiredBytes;
        for (UndoSegment s : segments) {
            sum += s.fileBytes();
        }
        return sum;
    }

    /** The bytes {@code files} take now; one gone meanwhile (a writer deleted it) counts nothing. */
    private static long sizeOf(List<Path> files) throws IOException {
        long sum = 0;
        for (Path p : files) {
            try {
                sum += Files.size(p);
            } catch (NoSuchFileException e) {
                // deleted since the listing
            }
        }
        return sum;
    }

    /**
     * The newest sequence whose record was captured at or before {@code timeNanos}: the newest held
     * record captured by then (not "the sequence before the first later record": after a rollback
     * and a resync the replica's sequences jump, and the one before a jump was never its state), or
     * the newest record if none was captured later.
     *
     * @return -1 when even the oldest record held was captured after {@code timeNanos}
     */
    public long sequenceAtOrBefore(long timeNanos) {
        long answer = -1;
        for (UndoSegment s : segments) {
            for (int i = 0; i < s.count(); i++) {
                if (s.timeAt(i) > timeNanos) {
                    if (answer != -1) {
                        return answer;
                    }
                    return s == segments.get(0) && i == 0 ? -1 : s.sequenceAt(i) - 1;
                }
                answer = s.sequenceAt(i);
            }
        }
        return answer;
    }

    /**
     * The held records next to {@code sequence}: {@code {below, above}}, the newest at or below it
     * and the oldest above it, each -1 when none is held. Every applied record leaves an undo
     * record, so a sequence inside the window with none held at it was never applied (a resync's
     * jump, records lost at the source).
     */
    public long[] heldAround(long sequence) {
        long below = -1;
        for (UndoSegment s : segments) {
            for (int i = 0; i < s.count(); i++) {
                long seq = s.sequenceAt(i);
                if (seq > sequence) {
                    return new long[] {below, seq};
                }
                below = seq;
            }
        }
        return new long[] {below, -1};
    }

    /** The kind of the oldest held record, or null when none is held. */
    public RecordKind oldestKind() {
        for (UndoSegment s : segments) {
            if (s.count() > 0) {
                return s.kindAt(0);
            }
        }
        return null;
    }

    /**
     * The jumps in the held records' sequences, oldest first: {@code {last before, first after}}
     * for each pair of consecutive held records more than one apart (a resync's RESYNC_BEGIN past
     * records the replica never had, records lost at the source).
     */
    public List<long[]> jumps() {
        List<long[]> out = new java.util.ArrayList<>();
        long previous = -1;
        for (UndoSegment s : segments) {
            for (int i = 0; i < s.count(); i++) {
                long seq = s.sequenceAt(i);
                if (previous >= 0 && seq > previous + 1) {
                    out.add(new long[] {previous, seq});
                }
                previous = seq;
            }
        }
        return out;
    }

    /** A held record: its sequence, capture time and kind. */
    public record Held(long sequence, long captureTimeNanos, RecordKind kind) {
    }

    /** The first held record above {@code sequence}; null when none is held. */
    public Held heldAbove(long sequence) {
        for (UndoSegment s : segments) {
            for (int i = 0; i < s.count(); i++) {
                if (s.sequenceAt(i) > sequence) {
                    return new Held(s.sequenceAt(i), s.timeAt(i), s.kindAt(i));
                }
            }
        }
        return null;
    }

    /** Capture time of the first held record above {@code sequence}; 0 when none is held. */
    public long captureTimeAbove(long sequence) {
        Held next = heldAbove(sequence);
        return next == null ? 0 : next.captureTimeNanos();
    }

    /**
     * Sequences of the held records of the given kinds, oldest first, each once: the points a
     * search over consistent states may stop at (FLUSH barriers, MARKs). Records below the
     * window are gone, so every sequence returned is reachable.
     */
    public long[] sequencesOf(Set<RecordKind> kinds) {
        long[] out = new long[16];
        int n = 0;
        for (UndoSegment s : segments) {
            for (int i = 0; i < s.count(); i++) {
                long seq = s.sequenceAt(i);
                if (kinds.contains(s.kindAt(i)) && (n == 0 || out[n - 1] != seq)) {
                    if (n == out.length) {
                        out = Arrays.copyOf(out, n * 2);
                    }
                    out[n++] = seq;
                }
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** Number of undo records with a sequence above {@code target}. */
    public long countAbove(long target) {
        long n = 0;
        for (UndoSegment s : segments) {
            for (int i = s.count() - 1; i >= 0 && s.sequenceAt(i) > target; i--) {
                n++;
            }
        }
        return n;
    }

    /**
     * Applies every record above {@code target} newest first and, as the restored bytes become
     * durable ({@link Applier#force}), removes them from the log. Crash-safe: rerunning it after
     * a crash completes the job (see the class comment). Segments it empties are retired
     * (renamed, the rename made durable), not deleted: the caller deletes them with
     * {@link #deleteRetired} once its own syncs after the rollback are done.
     *
     * @return the number of records applied
     */
    public long rollBackAbove(long target, Applier applier, Progress progress) throws IOException {
        return rollBackAbove(target, applier, progress, DURABLE_POINT_BYTES);
    }

    /** {@link #rollBackAbove(long, Applier, Progress)} with durable points every {@code durablePointBytes}. */
    long rollBackAbove(long target, Applier applier, Progress progress, long durablePointBytes) throws IOException {
        checkWritable();
        long total = countAbove(target);
        long done = 0;
        long sinceDurable = 0;
        try (UndoReadAhead ahead = readAhead(target)) {
            for (int si = segments.size() - 1; si >= 0; si--) {
                UndoSegment s = segments.get(si);
                int i = s.count() - 1;
                for (; i >= 0 && s.sequenceAt(i) > target; i--) {
                    UndoRecord r = ahead.next();
                    if (r.sequence() != s.sequenceAt(i)) {
                        throw new IllegalStateException("undo reader out of step: sequence " + r.sequence()
                                + " (expected: " + s.sequenceAt(i) + ") file=" + s.path());
                    }
                    applier.apply(r);
                    done++;
                    sinceDurable += r.lengthBytes();
                    progress.update(done, total);
                    if (sinceDurable >= durablePointBytes && i > 0) { // a segment larger than a durable point
                        applier.force();
                        dropApplied(si, i);
                        sinceDurable = 0;
                    }
                }
                if (i >= 0) { // the target lies in this segment
                    applier.force();
                    dropApplied(si, i + 1);
                    break;
                }
                if (sinceDurable >= durablePointBytes || si == 0) {
                    applier.force();
                    dropApplied(si, 0);
                    sinceDurable = 0;
                }
            }
        }
        return done;
    }

    /**
     * After the replica was made durable: removes the applied records, the segments after
     * {@code si} newest first (each retirement made durable before the next, so that a crash never
     * leaves a newer applied segment without an older one: reapplying it would overwrite what the
     * older one restored), then segment {@code si}'s records from {@code index} on (the whole
     * segment when {@code index} is 0).
     */
    private void dropApplied(int si, int index) throws IOException {
        int kept = index == 0 ? si : si + 1;
        while (segments.size() > kept) {
            retireNewestSegment();
        }
        if (index != 0) {
            UndoSegment s = segments.get(si);
            long before = s.sizeBytes();
            s.truncateBefore(index);
            totalBytes -= before - s.sizeBytes();
        }
    }

    /**
     * Takes the newest segment out of the log durably: renamed to its retired name (which
     * {@link #load} ignores and deletes) and the directory synced; the file is deleted later
     * ({@link #deleteRetired}). An unlink takes 22-24 ms per 64 MiB segment on ext4 with
     * {@code discard}, a rename and its sync 0.4 ms (docs/benchmarks.md#retired-undo-segments).
     */
    private void retireNewestSegment() throws IOException {
        UndoSegment s = segments.remove(segments.size() - 1);
        totalBytes -= s.sizeBytes();
        s.close();
        retired.add(RetiredFiles.retire(s.path()));
        syncDirectory();
    }

    /**
     * Deletes the segments rollbacks retired, on a thread of their own; the future completes when
     * they are gone. Call it when the volume's own syncs after a rollback are done: the unlinks
     * (and the discards of their blocks) then run after the rollback, not inside it. What an exit
     * or a crash leaves is deleted when the log next opens.
     */
    public CompletableFuture<Void> deleteRetired() {
        String volume = String.valueOf(dir.toAbsolutePath().getParent().getFileName());
        CompletableFuture<Void> done = RetiredFiles.deleteLater(dir, retired, "tapline-undo-delete-" + volume);
        retired.clear();
        return done;
    }

    /**
     * Reads, newest first, every record above {@code target} into {@code applier} without
     * changing the log (point-in-time images).
     */
    public long replayAbove(long target, Applier applier) throws IOException {
        return replayAbove(target, applier, (done, total) -> { });
    }

    /** {@link #replayAbove(long, Applier)}, telling {@code progress} after every record. */
    public long replayAbove(long target, Applier applier, Progress progress) throws IOException {
        long total = countAbove(target);
        try (UndoReadAhead ahead = readAhead(target)) {
            for (long done = 0; done < total; done++) {
                applier.apply(ahead.next());
                progress.update(done + 1, total);
            }
        }
        applier.force();
        return total;
    }

    /** A reader of the records above {@code target}, newest first, ahead of the caller (from its first record). */
    private UndoReadAhead readAhead(long target) throws IOException {
        String volume = String.valueOf(dir.toAbsolutePath().getParent().getFileName());
        return UndoReadAhead.open(segments, target, "tapline-undo-read-" + volume);
    }

    /** Deletes sealed segments beyond the size or age bound; returns how many went. */
    public int enforceRetention() throws IOException {
        return enforceRetention(Long.MAX_VALUE);
    }

    /**
     * {@link #enforceRetention()}, but never deletes a segment holding a record above
     * {@code durableSequence}: those before-images may still be needed to undo a group that is
     * not durably applied yet (a pipelined apply has the next group's records in the log while it
     * completes this one), even when that leaves the log over its size bound for a while.
     */
    public int enforceRetention(long durableSequence) throws IOException {
        checkWritable();
        int deleted = 0;
        long oldestAllowedMillis = clock.millis() - config.maxAge().toMillis();
        while (segments.size() > 1) {
            UndoSegment oldest = segments.get(0);
            boolean tooBig = totalBytes > config.maxBytes();
            // Applied before the cutoff on this replayer's clock: the next segment was begun after the last
            // of them was appended, so its creation time (in its header) bounds their apply times. Not the
            // records' capture times: the source host's clock stamped those, and a source clock behind this
            // one made them look older than they were (before-images dropped a minute old, probe Y D5).
            boolean tooOld = oldest.count() > 0 && segments.get(1).createdMillis() < oldestAllowedMillis;
            if (!tooBig && !tooOld) {
                break;
            }
            if (oldest.count() > 0 && oldest.sequenceAt(oldest.count() - 1) > durableSequence) {
                break;
            }
            totalBytes -= oldest.sizeBytes();
            oldest.close();
            boolean kept = recycleAllowed != null && spare == null;
            if (kept) {
                spare = RetiredFiles.retire(oldest.path());
                retiredBytes = sizeOf(List.of(spare));
            } else {
                Files.delete(oldest.path());
            }
            segments.remove(0);
            deleted++;
            log.info("undo retention {} segment file={} reason={} windowStartSeq={}", kept ? "set aside for reuse" : "deleted",
                    oldest.path(), tooBig ? "size" : "age", segments.get(0).sequenceAt(0) - 1);
        }
        if (deleted > 0) {
            syncDirectory();
        }
        return deleted;
    }

    private void syncDirectory() throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
        dirDirty = false;
    }

    private void checkWritable() {
        if (!writable) {
            throw new IllegalStateException("undo log opened read-only dir=" + dir);
        }
    }

    @Override
    public void close() throws IOException {
        if (spare != null) {
            retired.add(spare);
            spare = null;
            retiredBytes = 0;
        }
        deleteRetired();
        IOException first = null;
        for (UndoSegment s : segments) {
            try {
                s.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        segments.clear();
        if (first != null) {
            throw first;
        }
    }
}
