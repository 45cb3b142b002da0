package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import io.tapline.log.RecordKind;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Remembers the writes a FULL buffer could not store, until a GAP record covers them, and keeps
 * that memory in {@link BufferState the state file} so that a crash while FULL is not forgotten.
 *
 * <p>Durability: entering FULL replaces the state file durably (fsync) before {@code append}
 * returns; each further lost write updates the file in place in the page cache (no fsync on the
 * host's write path), and {@link #force} (called by the buffer's {@code sync}) makes it durable.
 * After a power loss the host only relies on what it flushed, and the state file was forced with
 * it. A state file torn by an in-place update fails its CRC and is read as "FULL, range
 * unknown": the GAP then covers the whole volume. The reset after a GAP record is written only
 * once that GAP record is durable.
 *
 * <p>Thread-safe (synchronized).
 */
final class LostWrites {
    private static final Logger log = LoggerFactory.getLogger(LostWrites.class);

    private final Path file;
    private final String volumeId;
    private final BufferConfig config;
    private long count;
    private long minOffsetBytes = Long.MAX_VALUE;
    private long maxEndBytes;
    private boolean rangeUnknown;
    private long gapRecords;
    private FileChannel inPlace;
    private boolean dirty;

    private LostWrites(Path file, String volumeId, BufferConfig config) {
        this.file = file;
        this.volumeId = volumeId;
        this.config = config;
    }

    /** Loads the state file of {@code dir} (if any) and rewrites it with the current configuration. */
    static LostWrites open(Path dir, String volumeId, BufferConfig config) throws IOException {
        LostWrites lost = new LostWrites(dir.resolve(SegmentNames.STATE_FILE), volumeId, config);
        if (Files.exists(lost.file)) {
            try {
                BufferState state = BufferState.read(lost.file);
                if (!state.volumeId().equals(volumeId)) {
                    throw new IOException("volumeId: " + state.volumeId() + " (expected: " + volumeId + ") file="
                            + lost.file + "; this directory belongs to another volume");
                }
                lost.count = state.lostWrites();
                lost.minOffsetBytes = state.lostWrites() > 0 ? state.lostOffsetBytes() : Long.MAX_VALUE;
                lost.maxEndBytes = state.lostEndBytes();
                lost.rangeUnknown = state.rangeUnknown();
                lost.gapRecords = state.gapRecords();
            } catch (BufferCorruptException e) {
                // Only in-place updates while FULL can tear this file: assume FULL, range unknown.
                log.warn("buffer state unreadable, assuming FULL with unknown range volume={} file={} cause={}",
                        volumeId, lost.file, e.getMessage());
                lost.rangeUnknown = true;
            }
        }
        try {
            lost.replaceDurably();
        } catch (IOException e) {
            if (!Files.exists(lost.file)) {
                throw new IOException("capture buffer state " + lost.file + ": " + e.getMessage(), e);
            }
            // A full file system refuses the new file but not an overwrite of this one's blocks: the
            // wedge must start (its host needs its disk) and go FULL, not stop (a torn overwrite
            // reads as "range unknown": a whole-volume GAP, never a lost write).
            log.warn("buffer state rewritten in place volume={} file={}: {}", volumeId, lost.file, e.toString());
            lost.inPlace = FileChannel.open(lost.file, StandardOpenOption.WRITE);
            lost.writeInPlaceDurably(lost.state());
        }
        return lost;
    }

    /** Whether writes were lost and no GAP record covers them yet. */
    synchronized boolean full() {
        return count > 0 || rangeUnknown;
    }

    /** Remembers a record that was not stored. */
    synchronized void record(RecordKind kind, long offsetBytes, long lengthBytes) throws IOException {
        boolean entering = !full();
        count++;
        if (lengthBytes > 0 && kind != RecordKind.FLUSH && kind != RecordKind.MARK) {
            minOffsetBytes = Math.min(minOffsetBytes, offsetBytes);
            maxEndBytes = Math.max(maxEndBytes, offsetBytes + lengthBytes);
        }
        if (entering) {
            // In place and forced rather than replaced: a full filesystem refuses a new file
            // but not an overwrite of this one's blocks. A torn write reads as "range unknown".
            DurableFiles.writeFully(inPlace, state().encode(), 0);
            inPlace.force(false);
        } else {
            DurableFiles.writeFully(inPlace, state().encode(), 0);
            dirty = true;
        }
    }

    /** Makes in-place updates durable. */
    synchronized void force() throws IOException {
        if (dirty) {
            inPlace.force(false);
            dirty = false;
        }
    }

    /** Offset of the GAP record that covers the lost writes. */
    synchronized long gapOffsetBytes() {
        return rangeUnknown || minOffsetBytes == Long.MAX_VALUE ? 0 : minOffsetBytes;
    }

    /** Length of the GAP record: the lost range, or {@link Long#MAX_VALUE} (whole volume) when unknown. */
    synchronized long gapLengthBytes() {
        if (rangeUnknown) {
            return Long.MAX_VALUE;
        }
        return minOffsetBytes == Long.MAX_VALUE ? 0 : maxEndBytes - minOffsetBytes;
    }

    /** The GAP record's reason text. */
    synchronized String gapReason() {
        return "buffer full: " + count + " writes not captured" + (rangeUnknown ? ", range unknown: whole volume" : "");
    }

    /** Counts a GAP record appended by a capture path (a snoop's capture gap, a failed primary write). */
    synchronized void gapCounted() throws IOException {
        gapRecords++;
        DurableFiles.writeFully(inPlace, state().encode(), 0);
        dirty = true;
    }

    /**
     * Forgets the lost writes once a durable GAP record covers them: the state file first, in place
     * (a full file system has no block for a new one), then memory. Until the file says so the
     * buffer stays FULL, for its status readers as for itself (memory cleared before a failed
     * rewrite left status saying FULL for good while appends went on: probe O O8).
     */
    synchronized void gapAppended() throws IOException {
        writeInPlaceDurably(new BufferState(volumeId, config, 0, 0, 0, false, gapRecords + 1));
        count = 0;
        minOffsetBytes = Long.MAX_VALUE;
        maxEndBytes = 0;
        rangeUnknown = false;
        gapRecords++;
    }

    private void writeInPlaceDurably(BufferState state) throws IOException {
        DurableFiles.writeFully(inPlace, state.encode(), 0);
        inPlace.force(false);
        dirty = false;
    }

    synchronized long count() {
        return count;
    }

    synchronized long gapRecords() {
        return gapRecords;
    }

    synchronized void close() throws IOException {
        force();
        inPlace.close();
    }

    private BufferState state() {
        return new BufferState(volumeId, config, count, minOffsetBytes == Long.MAX_VALUE ? 0 : minOffsetBytes,
                maxEndBytes, rangeUnknown, gapRecords);
    }

    private void replaceDurably() throws IOException {
        DurableFiles.replace(file, state().encode());
        if (inPlace != null) {
            inPlace.close();
        }
        inPlace = FileChannel.open(file, StandardOpenOption.WRITE);
        dirty = false;
    }
}
