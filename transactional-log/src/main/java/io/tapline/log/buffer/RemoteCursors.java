package io.tapline.log.buffer;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each remote's last acknowledged sequence, one durable {@link CursorFile} per remote.
 * Acknowledgments only move forward: a lower or equal sequence is ignored.
 *
 * <p>Thread-safe: updates are serialized (each is one small durable file replacement), reads
 * are lock-free.
 */
final class RemoteCursors {
    private static final Logger log = LoggerFactory.getLogger(RemoteCursors.class);

    private final Path dir;
    private final LongSupplier nowNanos;
    private final Map<String, Long> acknowledged = new ConcurrentHashMap<>();
    /** Acknowledgments newer than the durable cursor that could not be written (disk full). */
    private final Map<String, Long> unrecorded = new ConcurrentHashMap<>();

    private RemoteCursors(Path dir, LongSupplier nowNanos) {
        this.dir = dir;
        this.nowNanos = nowNanos;
    }

    /** Loads every cursor file of {@code dir}. */
    static RemoteCursors load(Path dir, Clock clock) throws IOException {
        RemoteCursors cursors = new RemoteCursors(dir, () -> CaptureBuffer.nanosOf(clock.instant()));
        cursors.acknowledged.putAll(readAll(dir));
        return cursors;
    }

    /** Reads every cursor file of {@code dir}, for another process. */
    static Map<String, Long> readAll(Path dir) throws IOException {
        Map<String, Long> result = new TreeMap<>();
        for (Path file : SegmentNames.listCursors(dir)) {
            CursorFile cursor = CursorFile.read(file);
            result.put(cursor.remoteId(), cursor.acknowledgedSequence());
        }
        return result;
    }

    /** Adds a remote at {@code startAfter} unless it exists; returns whether it was added. */
    synchronized boolean register(String remoteId, long startAfter) throws IOException {
        SegmentNames.checkRemoteId(remoteId);
        if (acknowledged.containsKey(remoteId)) {
            return false;
        }
        write(remoteId, startAfter);
        log.info("remote registered remote={} acknowledged={}", remoteId, startAfter);
        return true;
    }

    /**
     * Moves {@code remoteId}'s cursor to {@code sequence} if that is forward; returns whether it
     * moved durably. A cursor file that cannot be written for want of space (the buffer's disk is
     * full: the cursor is replaced whole, which needs a free block) leaves the durable cursor where
     * it was and is not an error: the link stays up, the acknowledgment is written with a later
     * one once space returns, and until then retention and status go by the older, durable cursor
     * (a restart resends from it, which the replayer skips as applied). Other errors are thrown.
     */
    synchronized boolean advance(String remoteId, long sequence) throws IOException {
        long current = get(remoteId);
        if (sequence <= current) {
            return false;
        }
        try {
            write(remoteId, sequence);
        } catch (IOException e) {
            if (!io.tapline.log.DurableFiles.noSpace(e)) {
                throw e;
            }
            if (unrecorded.put(remoteId, sequence) == null) {
                log.warn("remote cursor not recorded, the disk is full: retention and status keep seq {} until space"
                        + " returns remote={} acknowledged={} dir={} ({})", current, remoteId, sequence, dir, e.toString());
            }
            return false;
        }
        if (unrecorded.remove(remoteId) != null) {
            log.info("remote cursor recorded again remote={} acknowledged={}", remoteId, sequence);
        }
        return true;
    }

    /** Moves {@code remoteId}'s cursor back to {@code sequence}; the caller checked that the records after it are retained. */
    synchronized void rewind(String remoteId, long sequence) throws IOException {
        long current = get(remoteId);
        if (sequence < current) {
            write(remoteId, sequence);
            log.warn("remote cursor moved back remote={} from={} to={}", remoteId, current, sequence);
        }
    }

    /** The remote's last acknowledged sequence. */
    long get(String remoteId) {
        Long value = acknowledged.get(remoteId);
        if (value == null) {
            throw new IllegalArgumentException("remoteId: " + remoteId + " (expected: a registered remote, one of "
                    + new TreeMap<>(acknowledged).keySet() + ")");
        }
        return value;
    }

    /** The smallest acknowledged sequence, or {@code Long.MAX_VALUE} when no remote is registered. */
    long minimum() {
        long min = Long.MAX_VALUE;
        for (long v : acknowledged.values()) {
            min = Math.min(min, v);
        }
        return min;
    }

    /** A copy of every cursor. */
    Map<String, Long> snapshot() {
        return new TreeMap<>(acknowledged);
    }

    private void write(String remoteId, long sequence) throws IOException {
        new CursorFile(remoteId, sequence, nowNanos.getAsLong()).write(SegmentNames.cursorFile(dir, remoteId));
        acknowledged.put(remoteId, sequence);
    }
}
