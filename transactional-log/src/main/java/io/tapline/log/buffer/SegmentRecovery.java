package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import io.tapline.log.CaptureRecord;
import io.tapline.log.RecordCodec;
import io.tapline.log.RecordFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Loads a buffer directory's segments when the buffer opens, checking every record: its CRC,
 * its volume and that sequences are dense, within and across segments.
 *
 * <p>What a crash can leave, and what is done with it:
 * <ul>
 * <li>the last segment ends in a partial record, or in a record whose CRC fails with no valid
 *     record after it: a torn tail. It is truncated at the last whole record and reported;
 * <li>the last segment is shorter than its header, or its header is all zero bytes (the crash
 *     came while creating it; no sync has covered it): it is deleted and reported as a torn tail;
 * <li>after an unclean shutdown, the last segment has a hole of unwritten (zero) sectors with
 *     valid records after it: the page cache wrote the appends back out of order and the power
 *     went before an fsync. No sync covered anything from the hole on (an fsync writes every
 *     dirty page of the file), so nothing there was acknowledged: it is truncated at the hole
 *     and reported like a torn tail;
 * <li>an earlier segment cannot be torn: a roll forces a segment before the next one is created;
 * <li>anything else (a bad record followed by a valid one without such a hole, or after a clean
 *     shutdown, any bad record in an earlier
 *     segment, a bad header, a sequence out of order): a crash cannot do that, so
 *     {@link BufferCorruptException} stops the open, naming file, offset and
 *     {@link SegmentRepair the repair}.
 * </ul>
 *
 * <p>Not thread-safe; runs once, before the buffer is shared.
 */
final class SegmentRecovery {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SegmentRecovery.class);
    /** A segment as recovery left it. */
    record Loaded(Path path, long baseSequence, int headerBytes, long sizeBytes, long lastSequence,
            boolean startsAfterLostRecords) {
    }

    /** Segments oldest first, and the report. */
    record Result(List<Loaded> segments, RecoveryReport report) {
    }

    /** How far past a bad record to look for valid ones before calling it torn; larger tails are refused. */
    private static final long MAX_TAIL_PROBE_BYTES = 256L << 20;

    private final Path dir;
    private final String volumeId;
    private final byte[] volumeIdUtf8;
    private final boolean uncleanShutdown;
    private long records;
    private long tornBytes;
    private String tornFile;
    private long segmentRecords;
    private boolean segmentStartsAfterLostRecords;

    private SegmentRecovery(Path dir, String volumeId, boolean uncleanShutdown) {
        this.dir = dir;
        this.volumeId = volumeId;
        this.volumeIdUtf8 = volumeId.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        this.uncleanShutdown = uncleanShutdown;
    }

    /**
     * Recovers {@code dir}; {@code uncleanShutdown} says the buffer was not closed cleanly, so
     * appends the page cache wrote back out of order may have left holes in the last segment.
     */
    static Result recover(Path dir, String volumeId, boolean uncleanShutdown) throws IOException {
        return new SegmentRecovery(dir, volumeId, uncleanShutdown).run();
    }

    private Result run() throws IOException {
        List<Path> files = SegmentNames.listSegments(dir);
        List<Loaded> loaded = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            boolean last = i == files.size() - 1;
            Loaded segment = load(file, last);
            if (segment == null) {
                continue;
            }
            if (!loaded.isEmpty()) {
                Loaded previous = loaded.get(loaded.size() - 1);
                boolean hole = segment.baseSequence() > previous.lastSequence() + 1;
                if (hole && last && segment.lastSequence() < segment.baseSequence()) {
                    // CaptureBuffer.numberPast cut short: the new segment reached the disk, its GAP did
                    // not. Nothing in it was shipped (only forced records are); the jump is asked again.
                    Files.delete(file);
                    DurableFiles.syncDirectory(dir);
                    log.warn("capture buffer dir={}: {} starts past a hole without the GAP that opens it (a jump cut"
                            + " short by a crash); deleted, numbering continues after seq {}", dir, file.getFileName(),
                            previous.lastSequence());
                    continue;
                }
                if (segment.baseSequence() != previous.lastSequence() + 1
                        && !(hole && segment.startsAfterLostRecords())) {
                    throw new BufferCorruptException(file, 8, "baseSequence: " + segment.baseSequence()
                            + " (expected: " + (previous.lastSequence() + 1) + ", after "
                            + previous.path().getFileName() + ")");
                }
            }
            loaded.add(segment);
        }
        return new Result(loaded, new RecoveryReport(files.size(), records, tornBytes, tornFile));
    }

    private Loaded load(Path file, boolean last) throws IOException {
        long base = SegmentNames.baseSequenceOf(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            int headerBytes = SegmentHeader.sizeFor(volumeId);
            if (last && (size < headerBytes || zeroes(ch, headerBytes))) {
                ch.close();
                Files.delete(file);
                DurableFiles.syncDirectory(dir);
                tornBytes = size;
                tornFile = file.toString();
                return null;
            }
            SegmentHeader header = SegmentHeader.read(ch, file);
            if (header.baseSequence() != base) {
                throw new BufferCorruptException(file, 8,
                        "baseSequence: " + header.baseSequence() + " (expected: " + base + " from the file name)");
            }
            if (!header.volumeId().equals(volumeId)) {
                throw new IOException("volumeId: " + header.volumeId() + " (expected: " + volumeId + ") file=" + file
                        + "; this directory belongs to another volume");
            }
            long end = scan(ch, file, base, headerBytes, size, last);
            ch.force(false);
            return new Loaded(file, base, headerBytes, end, base - 1 + segmentRecords, segmentStartsAfterLostRecords);
        }
    }

    /**
     * Whether the header is all zero bytes: the file's size reached the disk but its first
     * block did not. Any sync of the segment would have written the header with its records, so
     * nothing in it was acknowledged.
     */
    private static boolean zeroes(FileChannel ch, int headerBytes) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(headerBytes);
        DurableFiles.readUpTo(ch, header, 0);
        for (int i = 0; i < headerBytes; i++) {
            if (header.get(i) != 0) {
                return false;
            }
        }
        return true;
    }

    /** Checks every record; returns the end of the last good one, truncating a torn tail. */
    private long scan(FileChannel ch, Path file, long base, long fromBytes, long size, boolean last)
            throws IOException {
        SegmentWindow window = new SegmentWindow(ch);
        long pos = fromBytes;
        long expected = base;
        segmentRecords = 0;
        segmentStartsAfterLostRecords = false;
        while (pos < size) {
            String problem = null;
            ByteBuffer lengthField = window.view(pos, 4, size);
            int total = -1;
            if (lengthField == null) {
                problem = "record: " + (size - pos) + " bytes (expected: a 4-byte length field)";
            } else {
                try {
                    total = RecordCodec.peekTotalSize(lengthField);
                } catch (RecordFormatException e) {
                    problem = e.getMessage();
                }
            }
            ByteBuffer record = null; // checked where it lies: no payload copied
            long sequence = -1;
            if (problem == null) {
                ByteBuffer bytes = window.view(pos, total, size);
                if (bytes == null) {
                    problem = "record: " + (size - pos) + " bytes (expected: " + total + ")";
                } else {
                    try {
                        sequence = RecordCodec.verifyEncoded(bytes);
                        record = bytes;
                    } catch (RecordFormatException e) {
                        problem = e.getMessage();
                    }
                }
            }
            if (problem != null) {
                long next = last ? nextValidRecord(ch, pos, size, expected) : -1;
                if (!last || next == REFUSE || (next >= 0 && !(uncleanShutdown && DurableFiles.hasUnwrittenSector(ch, pos, next)))) {
                    throw new BufferCorruptException(file, pos, problem + (last ? "; valid records follow" : ""));
                }
                ch.truncate(pos);
                tornBytes = size - pos;
                tornFile = file.toString();
                return pos;
            }
            if (sequence != expected) {
                throw new BufferCorruptException(file, pos,
                        "sequence: " + sequence + " (expected: " + expected + ")");
            }
            if (!RecordCodec.hasVolumeId(record, volumeIdUtf8)) {
                throw new BufferCorruptException(file, pos,
                        "volumeId: " + volumeIdOf(record) + " (expected: " + volumeId + ")");
            }
            if (segmentRecords == 0) { // a hole before this segment is allowed only at such a GAP (CaptureBuffer.numberPast)
                segmentStartsAfterLostRecords = RecordCodec.decode(record.duplicate()).recordsLostBefore();
            }
            expected++;
            segmentRecords++;
            records++;
            pos += total;
        }
        return pos;
    }

    /** The volume id of a verified record, for a message. */
    private static String volumeIdOf(ByteBuffer record) {
        return RecordCodec.decode(record.duplicate()).volumeId();
    }

    /** {@link #nextValidRecord}: too much follows the damage to be one torn write; refuse rather than drop it. */
    private static final long REFUSE = -2;

    /**
     * Where the first whole, valid record of this volume with a plausible later sequence starts
     * after {@code badAt} (then the damage is not a plain torn tail), {@code -1} if none does,
     * or {@link #REFUSE}.
     */
    private long nextValidRecord(FileChannel ch, long badAt, long size, long expected) throws IOException {
        long tail = size - badAt;
        if (tail > MAX_TAIL_PROBE_BYTES) {
            return REFUSE;
        }
        ByteBuffer bytes = ByteBuffer.allocate((int) tail);
        DurableFiles.readUpTo(ch, bytes, badAt);
        bytes.flip();
        long maxSequence = expected + tail / (RecordCodec.FIXED_BYTES + 1);
        for (int at = 1; at + RecordCodec.FIXED_BYTES < bytes.limit(); at++) {
            int length = bytes.getInt(at);
            if (length < RecordCodec.FIXED_BYTES - 3 || length > bytes.limit() - at - 4
                    || (bytes.get(at + 8) & 0xFF) != RecordCodec.FORMAT_VERSION) {
                continue;
            }
            long sequence = bytes.getLong(at + 12);
            if (sequence < expected || sequence > maxSequence) {
                continue;
            }
            try {
                CaptureRecord r = RecordCodec.decode(bytes.duplicate().position(at));
                if (r.volumeId().equals(volumeId)) {
                    return badAt + at;
                }
            } catch (RecordFormatException e) {
                continue; // Not a record here: keep looking.
            }
        }
        return -1;
    }
}
