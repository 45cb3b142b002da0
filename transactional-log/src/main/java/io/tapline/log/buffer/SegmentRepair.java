package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The repair that {@link BufferCorruptException} names: {@code tapline buffer repair --segment F
 * --truncate-at N}. It keeps the records before the damage and drops the rest: the segment is
 * cut at {@code offsetBytes} (deleted when that is inside its header, or the header is damaged) and every later segment of
 * the directory is deleted, because their records no longer follow densely. The dropped records
 * are lost to the remotes that had not acknowledged them: when any were dropped, the volume's
 * changed-chunk set is made to cover the whole volume ({@link ChangedChunks.WholeVolumeCause#RECORDS_CUT}),
 * so that the next start resyncs every replica and status says not synced until then (it said
 * synced while the replica lacked the cut writes: probe M, D6).
 *
 * <p>Run it only while no process has the buffer open. Stateless and thread-safe.
 */
public final class SegmentRepair {
    private static final Logger log = LoggerFactory.getLogger(SegmentRepair.class);

    /**
     * What a repair did.
     *
     * @param wholeVolumeTracked whether the volume's changed-chunk set now covers the whole volume
     *                           (records were dropped: the next start resyncs every replica)
     */
    public record Result(long bytesDropped, List<Path> filesDeleted, boolean wholeVolumeTracked) {
        public Result {
            filesDeleted = List.copyOf(filesDeleted);
        }
    }

    private SegmentRepair() {
    }

    /**
     * Truncates {@code segment} at {@code offsetBytes} and deletes the segments after it, holding
     * the buffer's lock meanwhile.
     *
     * @throws IOException {@code buffer: DIR is in use by another process (...)} while a wedge or a
     *         snoop has the buffer open
     * @throws IllegalArgumentException when the file is not a segment or the offset is outside it
     */
    public static Result truncateAt(Path segment, long offsetBytes) throws IOException {
        long base = SegmentNames.baseSequenceOf(segment);
        if (base < 1 || !Files.isRegularFile(segment)) {
            throw new IllegalArgumentException("segment: " + segment + " (expected: an existing NNNNNNNNNNNNNNNNNNNN"
                    + SegmentNames.SEGMENT_SUFFIX + " file)");
        }
        long size = Files.size(segment);
        if (offsetBytes < 0 || offsetBytes > size) {
            throw new IllegalArgumentException(
                    "offsetBytes: " + offsetBytes + " (expected: 0.." + size + ") file=" + segment);
        }
        Path dir = segment.toAbsolutePath().getParent();
        // A running wedge or snoop holds the buffer: cutting its segments under it loses records it
        // may not have shipped and breaks its own view of the files.
        try (io.tapline.log.ExclusiveLock held = io.tapline.log.ExclusiveLock.acquire(
                dir.resolve(CaptureBuffer.LOCK_FILE), "buffer", dir)) {
            return truncateHeld(segment, offsetBytes, base, size, dir);
        }
    }

    private static Result truncateHeld(Path segment, long offsetBytes, long base, long size, Path dir)
            throws IOException {
        long dropped = size - offsetBytes;
        List<Path> deleted = new ArrayList<>();
        if (offsetBytes < intactHeaderBytes(segment)) {
            Files.delete(segment);
            deleted.add(segment);
        } else {
            try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
                ch.truncate(offsetBytes);
                ch.force(true);
            }
        }
        for (Path later : SegmentNames.listSegments(dir)) {
            if (SegmentNames.baseSequenceOf(later) > base) {
                dropped += Files.size(later);
                Files.delete(later);
                deleted.add(later);
            }
        }
        DurableFiles.syncDirectory(dir);
        boolean tracked = dropped > 0;
        if (tracked) {
            try (ChangedChunks changed = ChangedChunks.open(dir, ChangedChunks.DEFAULT_CHUNK_BYTES)) {
                changed.markAll(ChangedChunks.WholeVolumeCause.RECORDS_CUT);
            }
        }
        log.info("segment repaired file={} truncatedAt={} bytesDropped={} filesDeleted={} wholeVolumeTracked={}",
                segment, offsetBytes, dropped, deleted.size(), tracked);
        return new Result(dropped, deleted, tracked);
    }

    /**
     * Deletes the cursor of a remote the buffer no longer ships to (taken off the source's
     * configuration), holding the buffer's lock: its cursor otherwise keeps every record it did not
     * acknowledge, for ever (the buffer fills and stays FULL). What the remaining remotes
     * acknowledged is freed when the buffer next opens. A remote added back later starts from the
     * buffer's oldest record, or a resync if its replica is behind that.
     *
     * @return the sequence the forgotten cursor was at
     * @throws IOException {@code buffer: DIR is in use by another process (...)} while a wedge or a
     *         snoop has the buffer open; {@code remote: ...} when the buffer has no such cursor
     */
    public static long forgetRemote(Path volumeDir, String remoteId) throws IOException {
        SegmentNames.checkRemoteId(remoteId);
        Path dir = volumeDir.toAbsolutePath();
        try (io.tapline.log.ExclusiveLock held = io.tapline.log.ExclusiveLock.acquire(
                dir.resolve(CaptureBuffer.LOCK_FILE), "buffer", dir)) {
            Path file = SegmentNames.cursorFile(dir, remoteId);
            if (!Files.exists(file)) {
                throw new IOException("remote: " + remoteId + " (expected: one of " + RemoteCursors.readAll(dir).keySet()
                        + " in " + dir + ")");
            }
            long at = CursorFile.read(file).acknowledgedSequence();
            ReleasedRemotes.Release released = ReleasedRemotes.read(dir, remoteId);
            if (released != null) {
                at = Math.min(at, released.acknowledged()); // its cursor had been moved past what it applied
            }
            Files.delete(file);
            Files.deleteIfExists(ReleasedRemotes.file(dir, remoteId));
            DurableFiles.syncDirectory(dir);
            log.warn("remote forgotten volumeDir={} remote={} acknowledged={}", dir, remoteId, at);
            return at;
        }
    }

    /** The size of the segment's header, or {@code Long.MAX_VALUE} when the header itself is damaged. */
    private static long intactHeaderBytes(Path segment) throws IOException {
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            return SegmentHeader.read(ch, segment).sizeBytes();
        } catch (BufferCorruptException | UnsupportedFormatVersionException e) {
            return Long.MAX_VALUE; // Nothing after a bad header can be trusted: drop the whole file.
        }
    }
}
