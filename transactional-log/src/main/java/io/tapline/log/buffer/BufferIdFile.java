package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The buffer's identity, {@code buffer.id}: a random non-zero 64-bit id drawn once, when the
 * buffer directory is first opened, and kept for the buffer's life. Two buffers of one volume
 * (a buffer recreated empty numbers its records from 1 again) have different ids, so a log that
 * carries the id with each record (the Kafka topic's {@code tapline.buffer} header) tells their
 * histories apart where sequences alone cannot. Written once (temp file, fsync, rename, directory
 * fsync), never rewritten. Big-endian.
 *
 * <pre>
 * offset  size  field
 *   0      4    magic            0x544C4249 ("TLBI")
 *   4      2    formatVersion    1 (this code reads 1..1)
 *   6      2    reserved         0
 *   8      8    bufferId         random, non-zero
 *  16      8    createdTimeNanos when it was drawn, UTC ns since the epoch
 *  24      1    volumeIdLength   n (1..255)
 *  25      n    volumeId         UTF-8
 *  25+n    4    crc32c           CRC-32C (Castagnoli) of bytes [0, 25 + n)
 * </pre>
 *
 * <p>Immutable and thread-safe. The reference copy of this table is {@code docs/formats.md}.
 *
 * @param bufferId         the id
 * @param createdTimeNanos when it was drawn
 * @param volumeId         the buffer's volume
 */
record BufferIdFile(long bufferId, long createdTimeNanos, String volumeId) {
    private static final Logger log = LoggerFactory.getLogger(BufferIdFile.class);
    static final String FILE = "buffer.id";
    static final int MAGIC = 0x544C4249;
    static final int FORMAT_VERSION = 1;
    static final int FIXED_BYTES = 29;
    private static final SecureRandom RANDOM = new SecureRandom();

    BufferIdFile {
        if (bufferId == 0) {
            throw new IllegalArgumentException("bufferId: 0 (expected: non-zero)");
        }
    }

    /**
     * The id of the buffer in {@code volumeDir}, drawn and written durably when the file is
     * missing (a new buffer, or one made before buffers had an id: its id starts now).
     *
     * @throws BufferCorruptException on a bad magic, length or CRC
     * @throws UnsupportedFormatVersionException on an unknown format version
     */
    static long readOrCreate(Path volumeDir, String volumeId, long nowNanos) throws IOException {
        Path file = volumeDir.resolve(FILE);
        if (Files.exists(file)) {
            return read(file).bufferId;
        }
        long drawn = RANDOM.nextLong();
        long id = drawn != 0 ? drawn : 1; // 0 means "no buffer named" in a record's header
        DurableFiles.replace(file, new BufferIdFile(id, nowNanos, volumeId).encode());
        log.info("capture buffer id drawn volume={} dir={} bufferId={}", volumeId, volumeDir, Long.toHexString(id));
        return id;
    }

    ByteBuffer encode() {
        return SmallFileCheck.encodeTwoLongs(MAGIC, FORMAT_VERSION, bufferId, createdTimeNanos,
                volumeId.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads and checks an id file.
     *
     * @throws BufferCorruptException on a bad magic, length or CRC
     * @throws UnsupportedFormatVersionException on an unknown format version
     */
    static BufferIdFile read(Path file) throws IOException {
        ByteBuffer buf = DurableFiles.readSmallFile(file, FIXED_BYTES + 255);
        String repair = "delete the file: the buffer draws a new id, and a Kafka topic it shipped to then counts as"
                + " another buffer's (ship to a new --kafka-topic-prefix)";
        int n = SmallFileCheck.check(buf, file, "buffer id", MAGIC, FORMAT_VERSION, FIXED_BYTES, 24,
                "volumeIdLength", repair);
        return new BufferIdFile(buf.getLong(8), buf.getLong(16), new String(buf.array(), 25, n,
                StandardCharsets.UTF_8));
    }
}
