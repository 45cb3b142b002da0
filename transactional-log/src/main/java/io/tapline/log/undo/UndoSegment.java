package io.tapline.log.undo;

import io.tapline.log.DirectAppender;
import io.tapline.log.DurableFiles;
import io.tapline.log.RecordKind;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * One file of a volume's undo log, {@code <20-digit first sequence>.undo}: a header, then undo
 * records appended in sequence order. Big-endian. The reference copy of these tables is
 * {@code docs/formats.md}.
 *
 * <pre>
 * segment header (32 bytes)
 * offset size field
 *  0      4   magic          0x5450554E ("TPUN")
 *  4      2   version        2 (1 is read: no salt)
 *  6      2   reserved       0
 *  8      8   baseSequence   sequence of the first record (also in the file name)
 * 16      8   createdMillis  UTC milliseconds since the epoch
 * 24      4   crc32c         CRC-32C of bytes [0, 24), then (version 2) of the salt [28, 32)
 * 28      4   salt           version 2: random, never 0, new each time the file is (re)used;
 *                            version 1: 0
 *
 * undo record
 * offset size field
 *  0      4   recordLength   L: bytes after this field (40 + D)
 *  4      4   crc32c         CRC-32C of the header's salt (4 bytes, version 2 only), then bytes [8, 4 + L)
 *  8      1   version        1
 *  9      1   kind           RecordKind wire value of the captured record
 * 10      2   flags          bit 0 ZEROES: the range read as zeroes, no data stored
 * 12      8   sequence
 * 20      8   captureTime    UTC nanoseconds since the epoch
 * 28      8   offsetBytes
 * 36      8   lengthBytes    0 for FLUSH, MARK, GAP notes
 * 44      D   data           the old bytes: D = lengthBytes, or 0 with ZEROES
 * </pre>
 *
 * <p>Recovery ({@link #open} with {@code recover}) checks every record's CRC. A bad or incomplete
 * record with no valid record anywhere after it (a partial write, or the zero-filled blocks a
 * power cut leaves when the file's size reached the disk but its data did not) is a torn tail:
 * it is cut off and the number of bytes dropped is reported. A bad record followed by a valid
 * one is mid-file corruption: the segment is refused, because dropping it would silently lose
 * before-images that later rollbacks need.
 *
 * <p>Recycling ({@link #recycle}): a segment retention dropped may be reused as a new one, its
 * blocks overwritten instead of freed and allocated again (on ext4 with {@code discard} the
 * unlink of a 64 MiB segment alone takes 22-24 ms, docs/benchmarks.md#recycled-undo-segments).
 * Such a file holds the older segment's records past the new ones; the salt, folded into every
 * record's CRC, makes each of them invalid here, so recovery sees them as it sees a torn tail's
 * zeros, whatever their sequences.
 *
 * <p>Not thread-safe: owned by the volume's apply thread (writer) or by one reader.
 */
final class UndoSegment implements Closeable {
    static final int MAGIC = 0x5450554E;
    /** Version written; 1 (no salt) is read too. */
    static final int VERSION = 2;
    static final int MIN_VERSION = 1;
    /** The undo record's own version byte (unchanged by the segment's version 2). */
    static final int RECORD_VERSION = 1;
    static final int HEADER_BYTES = 32;
    static final int RECORD_HEADER_BYTES = 44;
    /** Largest before-image one undo record carries; longer ranges are split. */
    static final int MAX_DATA_BYTES = 1 << 20;
    static final int FLAG_ZEROES = 1;
    static final String SUFFIX = ".undo";
    /** Appends gather in memory up to this size and reach the file in one pwrite. */
    static final int PENDING_BYTES = 4 << 20;
    /** {@code -Dtapline.undo.directAppends=off} writes undo segments through the page cache (for comparison). */
    static final boolean DIRECT_APPENDS = !"off".equals(System.getProperty("tapline.undo.directAppends", "on"));

    private final Path path;
    private final FileChannel channel;
    private final long baseSequence;
    /** Folded into every record's CRC (version 2); 0 in a version 1 segment (nothing folded in). */
    private final int salt;
    /** The header's creation time on the writer's clock: its predecessor's newest record was applied no later. */
    private final long createdMillis;
    private long[] positions = new long[64];
    private long[] sequences = new long[64];
    private long[] times = new long[64];
    private byte[] kinds = new byte[64];
    private int count;
    private long sizeBytes;
    /** The file's length as this segment last set or found it: past {@link #sizeBytes} while {@link #bytesPastEnd}, or for a reader. */
    private long fileBytes;
    private long droppedBytes;
    /** Encoded records not yet written, starting at file offset {@link #pendingStart}. */
    private ByteBuffer pending;
    private long pendingStart;
    /** O_DIRECT writer of the pending records, opened at the first flush; null when refused. */
    private DirectAppender direct;
    /** Why the first direct write of this flush failed, while the buffered path retries it. */
    private IOException firstDirectFailure;
    /**
     * Whether this writer left bytes past {@link #sizeBytes} in the file, to be cut at seal or close:
     * a direct append's zero padding, or the older records of a recycled file.
     */
    private boolean bytesPastEnd;
    /** Where the pending buffer and the direct appends' staging come from (the log's, once it appends here). */
    private UndoAppendMemory memory = new UndoAppendMemory();

    private UndoSegment(Path path, FileChannel channel, long baseSequence, int salt, long createdMillis) {
        this.path = path;
        this.channel = channel;
        this.baseSequence = baseSequence;
        this.salt = salt;
        this.createdMillis = createdMillis;
    }

    static String fileName(long baseSequence) {
        return String.format("%020d%s", baseSequence, SUFFIX);
    }

    /** Creates a new empty segment durably (the caller syncs the directory). */
    static UndoSegment create(Path dir, long baseSequence, long nowMillis) throws IOException {
        Path path = dir.resolve(fileName(baseSequence));
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        int salt = newSalt(0);
        try {
            writeHeader(ch, baseSequence, nowMillis, salt);
        } catch (IOException | RuntimeException e) {
            // A header cut short (ENOSPC) would make the whole log unreadable on the next open.
            ch.close();
            try {
                java.nio.file.Files.deleteIfExists(path);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        UndoSegment s = new UndoSegment(path, ch, baseSequence, salt, nowMillis);
        s.sizeBytes = HEADER_BYTES;
        s.fileBytes = HEADER_BYTES;
        return s;
    }

    /**
     * Reuses {@code spare}, a file retention took out of the log (retired, so that no listing
     * sees it), as the new empty segment of {@code baseSequence}: a new header with a new salt is
     * written and made durable under the spare's name, then the file is renamed to the segment's
     * name (the caller syncs the directory). The older records past the header stay until they
     * are overwritten or the segment is sealed (which cuts what is left of them); they are never
     * valid records of the new segment. A crash before the rename leaves a retired file, deleted
     * when the log opens; after it, a segment whose older bytes read as a torn tail.
     *
     * <p>The caller must know that no reader still has {@code spare} open (a point-in-time image
     * that opened the log before retention took it): its bytes change in place.
     */
    static UndoSegment recycle(Path spare, Path dir, long baseSequence, long nowMillis) throws IOException {
        Path path = dir.resolve(fileName(baseSequence));
        FileChannel ch = FileChannel.open(spare, StandardOpenOption.READ, StandardOpenOption.WRITE);
        int salt;
        try {
            ByteBuffer old = ByteBuffer.allocate(HEADER_BYTES);
            DurableFiles.readUpTo(ch, old, 0);
            salt = newSalt(old.position() == HEADER_BYTES ? old.getInt(28) : 0);
            writeHeader(ch, baseSequence, nowMillis, salt);
            java.nio.file.Files.move(spare, path, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        UndoSegment s = new UndoSegment(path, ch, baseSequence, salt, nowMillis);
        s.sizeBytes = HEADER_BYTES;
        s.fileBytes = ch.size();
        s.bytesPastEnd = s.fileBytes > HEADER_BYTES;
        return s;
    }

    /** A random salt, never 0 (version 1's "none") and never {@code previous} (the file's last). */
    private static int newSalt(int previous) {
        int salt;
        do {
            salt = java.util.concurrent.ThreadLocalRandom.current().nextInt();
        } while (salt == 0 || salt == previous);
        return salt;
    }

    private static void writeHeader(FileChannel ch, long baseSequence, long nowMillis, int salt) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES);
        h.putInt(MAGIC).putShort((short) VERSION).putShort((short) 0).putLong(baseSequence).putLong(nowMillis);
        h.putInt(28, salt);
        h.putInt(24, headerCrc(h.array())).position(0).limit(HEADER_BYTES);
        DurableFiles.writeFully(ch, h, 0);
        ch.force(true);
    }

    /**
     * The header's CRC-32C: of bytes [0, 24) in version 1; from version 2 of bytes [0, 24) then
     * the salt [28, 32), so that a damaged salt is a damaged header (refused), never a segment
     * whose every record fails its CRC (which would read as a torn tail and be trimmed).
     */
    private static int headerCrc(byte[] h) {
        CRC32C crc = new CRC32C();
        crc.update(h, 0, 24);
        int version = ((h[4] & 0xFF) << 8) | (h[5] & 0xFF);
        if (version != 1) {
            crc.update(h, 28, 4);
        }
        return (int) crc.getValue();
    }

    /** The CRC-32C of a record's checked bytes ({@code body}'s remaining), the salt folded in first. */
    private int recordCrc(ByteBuffer body) {
        CRC32C crc = new CRC32C();
        if (salt != 0) {
            crc.update(salt >>> 24);
            crc.update(salt >>> 16);
            crc.update(salt >>> 8);
            crc.update(salt);
        }
        crc.update(body);
        return (int) crc.getValue();
    }

    /**
     * Whether the segment's header never reached the disk: the file is shorter than a header or
     * the header is all zeros. The cut came while creating it ({@link #create} forces the header
     * before any record is appended), so nothing in it was ever synced.
     */
    static boolean unwrittenHeader(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES);
            if (DurableFiles.readUpTo(ch, h, 0) < HEADER_BYTES) {
                return true;
            }
            for (int i = 0; i < HEADER_BYTES; i++) {
                if (h.get(i) != 0) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * Opens an existing segment. {@code trimTail} (the writer's newest segment): a torn tail is
     * cut off; otherwise scanning stops before an incomplete last record (for a reader, a
     * concurrent append) and the file is not changed.
     */
    static UndoSegment open(Path path, boolean writable, boolean trimTail) throws IOException {
        FileChannel ch = writable
                ? FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(path, StandardOpenOption.READ);
        try {
            ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES);
            if (DurableFiles.readUpTo(ch, h, 0) < HEADER_BYTES) {
                throw new UndoFormatException("header: " + h.position() + " bytes (expected: " + HEADER_BYTES
                        + ") file=" + path);
            }
            h.flip();
            int version = checkHeader(h, path);
            checkNamedBase(h.getLong(8), path);
            UndoSegment s = new UndoSegment(path, ch, h.getLong(8), version >= 2 ? h.getInt(28) : 0, h.getLong(16));
            s.scan(writable && trimTail, !writable);
            return s;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * A segment's name carries its base sequence: a header that says another one is a file
     * renamed by hand, or (to a reader) a segment that retention reused after the reader listed
     * it under its older name. Either way its records are not that name's.
     */
    private static void checkNamedBase(long headerBase, Path path) throws UndoFormatException {
        String name = path.getFileName().toString();
        if (!name.endsWith(SUFFIX) || name.length() != 20 + SUFFIX.length()) {
            return; // not a segment's name (a spare being reused, a test's file)
        }
        long named;
        try {
            named = Long.parseLong(name.substring(0, 20));
        } catch (NumberFormatException e) {
            return;
        }
        if (named != headerBase) {
            throw new UndoFormatException("header's baseSequence: " + headerBase + " (expected: " + named
                    + ", from the file name) file=" + path);
        }
    }

    /** Checks the header and returns its version. */
    private static int checkHeader(ByteBuffer h, Path path) throws UndoFormatException {
        if (h.getInt(0) != MAGIC) {
            throw new UndoFormatException(String.format("magic: 0x%08x (expected: 0x%08x) file=%s", h.getInt(0),
                    MAGIC, path));
        }
        int computed = headerCrc(h.array());
        if (computed != h.getInt(24)) {
            throw new UndoFormatException(String.format("header crc32c: 0x%08x (expected: 0x%08x) file=%s",
                    computed, h.getInt(24), path));
        }
        int version = h.getShort(4) & 0xFFFF;
        if (version < MIN_VERSION || version > VERSION) {
            throw new UndoFormatException("version: " + version + " (expected: " + MIN_VERSION + ".." + VERSION
                    + ") file=" + path);
        }
        return version;
    }

    /**
     * Indexes the records; damage is a torn tail when nothing valid follows it, and {@code trim}
     * cuts it off. Damage with valid records after it is refused, even when a sector the power
     * cut left unwritten explains it (the batch's sectors written back out of order): the undo
     * log does not record where its last sync ended, so it cannot tell an unsynced hole from a
     * damaged synced record, whose loss would make a later rollback silently wrong.
     *
     * <p>{@code writerRuns} (a reader's open): a writer may append while this reads, so a
     * record read as the zeros past the end may be valid a moment later, with the writer's next
     * records after it. Damage followed by valid records is therefore read once more where it
     * was found; valid now, it was an append in flight and the scan goes on.
     */
    private void scan(boolean trim, boolean writerRuns) throws IOException {
        long fileSize = channel.size();
        long pos = HEADER_BYTES;
        ByteBuffer header = ByteBuffer.allocate(RECORD_HEADER_BYTES);
        while (pos < fileSize) {
            String problem = problemAt(pos, fileSize, header);
            if (problem != null) {
                if (validRecordAfter(pos, fileSize, count == 0 ? baseSequence - 1 : sequences[count - 1])) {
                    if (writerRuns) {
                        fileSize = channel.size();
                        if (problemAt(pos, fileSize, header) == null) {
                            continue; // appended meanwhile: read it as the record it now is
                        }
                    }
                    throw new UndoFormatException("mid-file corruption at offset " + pos + ": " + problem
                            + "; later records follow, refusing to drop them (to open the volume with a shorter"
                            + " rollback window, move this segment and every older one aside: the replica image is"
                            + " intact) file=" + path);
                }
                droppedBytes = fileSize - pos;
                if (trim) {
                    channel.truncate(pos);
                    channel.force(true);
                    fileSize = pos;
                }
                break;
            }
            add(pos, header.getLong(12), header.getLong(20), header.get(9));
            pos += 4 + (header.getInt(0) & 0xFFFFFFFFL);
        }
        sizeBytes = pos;
        fileBytes = fileSize;
    }

    /**
     * What is wrong with the record at {@code pos} of a file of {@code fileSize} bytes, or
     * {@code null} when it is whole and valid; then {@code header} holds its first bytes as the
     * checked read of the whole record found them (a reader's two reads of a reused segment may
     * see an older record's header, then the new record's bytes).
     */
    private String problemAt(long pos, long fileSize, ByteBuffer header) throws IOException {
        header.clear();
        int got = DurableFiles.readUpTo(channel, header, pos);
        if (got < RECORD_HEADER_BYTES) {
            return "incomplete record header (" + got + " bytes)";
        }
        long length = header.getInt(0) & 0xFFFFFFFFL;
        if (length < RECORD_HEADER_BYTES - 4 || length > RECORD_HEADER_BYTES - 4 + MAX_DATA_BYTES) {
            return "recordLength: " + length + " (expected: 40.." + (40 + MAX_DATA_BYTES) + ")";
        }
        if (pos + 4 + length > fileSize) {
            return "record of " + (4 + length) + " bytes runs past the end of the file";
        }
        ByteBuffer body = ByteBuffer.allocate((int) length);
        String problem = checkRecord(pos, body);
        if (problem == null) {
            header.put(4, body, 0, RECORD_HEADER_BYTES - 4);
        }
        return problem;
    }

    /**
     * Whether a whole record with a valid CRC and a later sequence starts anywhere after
     * {@code badAt}: then the damage is mid-file corruption, not a torn tail. A torn tail is
     * what a crash leaves: a partial record, a record with a bad CRC, zero-filled blocks (the
     * size reached the disk, the data did not), with nothing valid after them.
     */
    private boolean validRecordAfter(long badAt, long fileSize, long afterSequence) throws IOException {
        ByteBuffer window = ByteBuffer.allocate(1 << 20);
        for (long start = badAt + 1; start + RECORD_HEADER_BYTES <= fileSize;
                start += window.capacity() - RECORD_HEADER_BYTES + 1) {
            window.clear();
            int got = DurableFiles.readUpTo(channel, window, start);
            for (int i = 0; i + RECORD_HEADER_BYTES <= got; i++) {
                long length = window.getInt(i) & 0xFFFFFFFFL;
                if (length < RECORD_HEADER_BYTES - 4 || length > RECORD_HEADER_BYTES - 4 + MAX_DATA_BYTES
                        || start + i + 4 + length > fileSize || (window.get(i + 8) & 0xFF) != RECORD_VERSION
                        || window.getLong(i + 12) <= afterSequence) {
                    continue;
                }
                if (checkRecord(start + i, ByteBuffer.allocate((int) length)) == null) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Reads the record at {@code pos} after its length field into {@code body} and checks it. */
    private String checkRecord(long pos, ByteBuffer body) throws IOException {
        DurableFiles.readUpTo(channel, body, pos + 4);
        body.flip();
        int computed = recordCrc(body.duplicate().position(4));
        int stored = body.getInt(0);
        if (computed != stored) {
            return String.format("crc32c: 0x%08x (expected: 0x%08x)", computed, stored);
        }
        int version = body.get(4) & 0xFF;
        if (version != RECORD_VERSION) {
            return "record version: " + version + " (expected: " + RECORD_VERSION + ".." + RECORD_VERSION + ")";
        }
        return null;
    }

    private void add(long position, long sequence, long timeNanos, byte kindWireValue) {
        if (count == positions.length) {
            positions = Arrays.copyOf(positions, count * 2);
            sequences = Arrays.copyOf(sequences, count * 2);
            times = Arrays.copyOf(times, count * 2);
            kinds = Arrays.copyOf(kinds, count * 2);
        }
        positions[count] = position;
        sequences[count] = sequence;
        times[count] = timeNanos;
        kinds[count] = kindWireValue;
        count++;
    }

    /**
     * Appends {@code r} (memory, then page cache: {@link #force} writes what is pending and makes
     * it durable). Records gather in a buffer so that a batch of small before-images costs one
     * pwrite, not one per record.
     */
    void append(UndoRecord r) throws IOException {
        int start = reserve(r.encodedSize());
        putHeader(r.sequence(), r.captureTimeNanos(), r.kind(), r.offsetBytes(), r.lengthBytes(), r.zeroes());
        pending.put(r.data());
        finishRecord(start, r.sequence(), r.captureTimeNanos(), r.kind());
    }

    /**
     * Appends the before-image in {@code old}'s remaining bytes (at most {@link #MAX_DATA_BYTES}),
     * as {@link #append(UndoRecord)} of {@link UndoRecord#of} would: all zero, it is stored as a
     * {@code ZEROES} record with no data. {@code old}'s position and limit are not changed.
     */
    void append(long sequence, long captureTimeNanos, RecordKind kind, long offsetBytes, ByteBuffer old)
            throws IOException {
        int length = old.remaining();
        if (length > MAX_DATA_BYTES) {
            throw new IllegalArgumentException("before-image: " + length + " bytes (expected: <= " + MAX_DATA_BYTES + ")");
        }
        boolean zeroes = UndoRecord.isAllZero(old);
        int start = reserve(RECORD_HEADER_BYTES + (zeroes ? 0 : length));
        putHeader(sequence, captureTimeNanos, kind, offsetBytes, length, zeroes);
        if (!zeroes) {
            pending.put(old.duplicate());
        }
        finishRecord(start, sequence, captureTimeNanos, kind);
    }

    /** Room for a record of {@code size} bytes in the pending buffer; returns where it starts. */
    private int reserve(int size) throws IOException {
        if (pending == null) {
            // Direct: the pwrite goes straight from it, with no copy into a temporary buffer.
            pending = memory.takePending(Math.max(PENDING_BYTES, size));
        }
        if (pending.position() > 0 && pending.remaining() < size) {
            flushPending();
        }
        if (pending.capacity() < size) {
            pending = ByteBuffer.allocateDirect(size);
        }
        if (pending.position() == 0) {
            pendingStart = sizeBytes;
        }
        return pending.position();
    }

    private void putHeader(long sequence, long captureTimeNanos, RecordKind kind, long offsetBytes, long lengthBytes,
            boolean zeroes) {
        int size = RECORD_HEADER_BYTES + (zeroes ? 0 : (int) lengthBytes);
        pending.putInt(size - 4).putInt(0).put((byte) RECORD_VERSION).put((byte) kind.wireValue())
                .putShort((short) (zeroes ? FLAG_ZEROES : 0)).putLong(sequence)
                .putLong(captureTimeNanos).putLong(offsetBytes).putLong(lengthBytes);
    }

    /** Fills in the CRC of the record encoded from {@code start} to the pending position, and indexes it. */
    private void finishRecord(int start, long sequence, long captureTimeNanos, RecordKind kind) {
        int size = pending.position() - start;
        pending.putInt(start + 4, recordCrc(pending.duplicate().limit(start + size).position(start + 8)));
        add(sizeBytes, sequence, captureTimeNanos, (byte) kind.wireValue());
        sizeBytes += size;
    }

    /**
     * Writes the gathered appends to the file. With O_DIRECT ({@link DirectAppender}) when this
     * file system takes it: before-images are written once and read back only by a rollback, and
     * buffered appends into new page-cache pages cost the apply thread most of its time
     * (docs/benchmarks.md#apply-direct-undo); else (or with {@code tapline.undo.directAppends=off})
     * through the page cache.
     *
     * <p>On failure (ENOSPC, EIO) the pending records are dropped, never retried at a stale
     * offset: the index then names records the file lacks, so the owner must reopen the log
     * (recovery trims what the file holds of them).
     */
    void flushPending() throws IOException {
        if (pending == null || pending.position() == 0) {
            return;
        }
        pending.flip();
        try {
            if (!appendedDirect()) {
                DurableFiles.writeFully(channel, pending, pendingStart);
                if (firstDirectFailure != null) {
                    // The same bytes went through the page cache: O_DIRECT itself is refused here
                    // (not ENOSPC or EIO, which the buffered write would have thrown too).
                    DirectAppender.refuse(path, firstDirectFailure);
                    closeDirect();
                }
            }
        } finally {
            firstDirectFailure = null;
            pending.clear();
        }
    }

    /**
     * Writes the pending records with O_DIRECT; false when direct appends are off here, or when
     * the first direct write failed (kept in {@link #firstDirectFailure}; the records are left to
     * the buffered path, which tells whether O_DIRECT is refused or the disk failed). A failure
     * after a direct write succeeded is an I/O error, thrown.
     */
    private boolean appendedDirect() throws IOException {
        if (direct == null && DIRECT_APPENDS && !DirectAppender.refused(path)) {
            direct = DirectAppender.open(path, memory.staging());
        }
        if (direct == null) {
            return false;
        }
        int start = pending.position();
        try {
            fileBytes = Math.max(fileBytes, direct.append(channel, pendingStart, new ByteBuffer[] {pending}));
        } catch (IOException e) {
            if (direct.wrote()) {
                throw e;
            }
            firstDirectFailure = e;
            pending.position(start);
            channel.truncate(pendingStart);
            fileBytes = Math.min(fileBytes, pendingStart);
            return false;
        }
        bytesPastEnd = true;
        return true;
    }

    /**
     * Cuts what the file holds past the last record (a direct append's zero padding, a recycled
     * file's older records); not durable by itself.
     */
    private void cutPastEnd() throws IOException {
        if (bytesPastEnd) {
            channel.truncate(sizeBytes);
            bytesPastEnd = false;
            fileBytes = sizeBytes;
        }
    }

    private void closeDirect() throws IOException {
        if (direct != null) {
            direct.close();
            direct = null;
        }
    }

    /** Where record {@code index} starts in the file (fixed once it is written). */
    long positionOf(int index) {
        return positions[index];
    }

    /**
     * Reads record {@code index}, which ends at {@code next} (where the record after it starts, or
     * the end of the file), and checks its CRC. Touches none of the writer's state, so a reader
     * thread may call it: nothing may be pending then ({@link #flushPending}), as at the start of
     * a {@link UndoReadAhead}.
     *
     * @throws UndoFormatException when it no longer matches (the file was damaged after it was opened)
     */
    UndoRecord read(int index, long next, UndoReadWindow window) throws IOException {
        long pos = positions[index];
        ByteBuffer whole = window.slice(this, pos, next);
        int length = whole.getInt(0);
        if (length != whole.capacity() - 4) {
            throw new UndoFormatException("recordLength: " + length + " (expected: " + (whole.capacity() - 4)
                    + " as indexed) record " + index + " at offset " + pos + " file=" + path);
        }
        ByteBuffer body = whole.position(4).slice();
        int computed = recordCrc(body.duplicate().position(4));
        if (computed != body.getInt(0)) {
            throw new UndoFormatException(String.format("crc32c: 0x%08x (expected: 0x%08x) at offset %d file=%s",
                    computed, body.getInt(0), pos, path));
        }
        RecordKind kind = RecordKind.fromWireValue(body.get(5) & 0xFF);
        boolean zeroes = (body.getShort(6) & FLAG_ZEROES) != 0;
        long seq = body.getLong(8);
        long time = body.getLong(16);
        long offset = body.getLong(24);
        long lengthBytes = body.getLong(32);
        byte[] data = new byte[length - 40];
        body.position(40).get(data);
        return new UndoRecord(seq, time, kind, offset, lengthBytes, zeroes, data);
    }

    /** Cuts the segment before record {@code index} (and any padding after it), durably. */
    void truncateBefore(int index) throws IOException {
        flushPending();
        long pos = index < count ? positions[index] : sizeBytes;
        channel.truncate(pos);
        bytesPastEnd = false;
        channel.force(true);
        count = Math.min(count, index);
        sizeBytes = pos;
        fileBytes = pos;
    }

    /**
     * Writes what is pending and makes it durable.
     *
     * @throws java.io.SyncFailedException when fdatasync failed: the kernel may have dropped the
     *         written pages, so a later successful sync would not prove them durable
     */
    void force() throws IOException {
        flushPending();
        try {
            channel.force(false);
        } catch (IOException e) {
            java.io.SyncFailedException s = new java.io.SyncFailedException("fdatasync of undo segment " + path
                    + " failed: " + e.getMessage());
            s.initCause(e);
            throw s;
        }
    }

    /** No more appends: writes what is pending, makes it durable and frees the append buffer. */
    void seal() throws IOException {
        // The padding is cut before the sync that seals: a sealed segment that ended in zero
        // padding after a power cut would read as a damaged record, and the log would not open.
        flushPending();
        cutPastEnd();
        force();
        memory.givePending(pending);
        pending = null;
        closeDirect();
    }

    /** Appends go through the log's {@code memory} from now on (shared with its other segments). */
    UndoSegment appendingThrough(UndoAppendMemory memory) {
        this.memory = memory;
        return this;
    }

    Path path() {
        return path;
    }

    /** The segment's channel, for reads through the page cache. */
    FileChannel channel() {
        return channel;
    }

    long baseSequence() {
        return baseSequence;
    }

    /** When the segment was begun, on the clock of the replayer that wrote it (its header's createdMillis). */
    long createdMillis() {
        return createdMillis;
    }

    int count() {
        return count;
    }

    long sequenceAt(int index) {
        return sequences[index];
    }

    long timeAt(int index) {
        return times[index];
    }

    /** Kind of the captured record that undo record {@code index} belongs to. */
    RecordKind kindAt(int index) {
        return RecordKind.fromWireValue(kinds[index] & 0xFF);
    }

    /**
     * Bytes the file takes: {@link #sizeBytes} and, until they are overwritten or cut, a recycled
     * file's older records and a direct append's padding past it.
     */
    long fileBytes() {
        return Math.max(fileBytes, sizeBytes);
    }

    long sizeBytes() {
        return sizeBytes;
    }

    long droppedBytes() {
        return droppedBytes;
    }

    @Override
    public void close() throws IOException {
        try {
            flushPending();
            cutPastEnd(); // else the next open trims it as a torn tail
        } finally {
            try {
                closeDirect();
            } finally {
                channel.close();
            }
        }
    }
}
