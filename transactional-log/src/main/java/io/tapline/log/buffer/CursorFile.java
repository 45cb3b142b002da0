package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * One remote's cursor: the last sequence it acknowledged as durably applied. One small file per
 * remote, {@code remote-ID.cursor}, replaced whole (temp file, fsync, rename, directory fsync)
 * on every acknowledgment, so it is never torn; on a full file system overwritten in place
 * ({@link #write}). Big-endian.
 *
 * <pre>
 * offset  size  field
 *   0      4    magic                0x544C4352 ("TLCR")
 *   4      2    formatVersion        1 (this code reads 1..1)
 *   6      2    reserved             0
 *   8      8    acknowledgedSequence last sequence the remote applied durably (0: none)
 *  16      8    updatedTimeNanos     when it was acknowledged, UTC ns since the epoch
 *  24      1    remoteIdLength       n (1..64)
 *  25      n    remoteId             ASCII
 *  25+n    4    crc32c               CRC-32C (Castagnoli) of bytes [0, 25 + n)
 * </pre>
 *
 * <p>Immutable and thread-safe. The reference copy of this table is {@code docs/formats.md}.
 *
 * @param remoteId             the remote
 * @param acknowledgedSequence its last acknowledged sequence
 * @param updatedTimeNanos     when it acknowledged it
 */
record CursorFile(String remoteId, long acknowledgedSequence, long updatedTimeNanos) {
    static final int MAGIC = 0x544C4352;
    static final int FORMAT_VERSION = 1;
    static final int FIXED_BYTES = 29;

    ByteBuffer encode() {
        return SmallFileCheck.encodeTwoLongs(MAGIC, FORMAT_VERSION, acknowledgedSequence, updatedTimeNanos,
                remoteId.getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * Writes the cursor durably to {@code file}: replaced whole; when the file system has no block
     * for the replacement (100 % full), overwritten in place instead (same length, one sector:
     * written whole by the disk), so that acknowledgements still free the segments they cover. A
     * full disk left 41 MB of acknowledged segments in place, and the buffer FULL, for as long as
     * it stayed full (probe O O10).
     */
    void write(Path file) throws IOException {
        ByteBuffer bytes = encode();
        try {
            DurableFiles.replace(file, bytes);
        } catch (IOException e) {
            if (e instanceof java.nio.file.FileSystemException || !java.nio.file.Files.isRegularFile(file)
                    || java.nio.file.Files.size(file) != bytes.remaining()) {
                throw e;
            }
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                    java.nio.file.StandardOpenOption.WRITE)) {
                DurableFiles.writeFully(ch, bytes.duplicate(), 0);
                ch.force(false);
            } catch (IOException inPlace) {
                e.addSuppressed(inPlace);
                throw e;
            }
        }
    }

    /**
     * Reads and checks a cursor file.
     *
     * @throws BufferCorruptException on a bad magic, length or CRC
     * @throws UnsupportedFormatVersionException on an unknown format version
     */
    static CursorFile read(Path file) throws IOException {
        ByteBuffer buf = DurableFiles.readSmallFile(file, FIXED_BYTES + 64);
        String repair = "delete the file and register the remote again: it then resends from the oldest "
                + "retained record, which is safe";
        int n = SmallFileCheck.check(buf, file, "cursor", MAGIC, FORMAT_VERSION, FIXED_BYTES, 24, "remoteIdLength",
                repair);
        return new CursorFile(new String(buf.array(), 25, n, StandardCharsets.US_ASCII), buf.getLong(8),
                buf.getLong(16));
    }
}
