package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The header at the start of every segment file. Big-endian.
 *
 * <pre>
 * offset  size  field
 *   0      4    magic          0x544C5347 ("TLSG")
 *   4      2    formatVersion  1 (this code reads 1..1)
 *   6      2    headerLength   H = 21 + n: bytes of this header, CRC included
 *   8      8    baseSequence   sequence of the segment's first record (also its file name)
 *  16      1    volumeIdLength n (1..255)
 *  17      n    volumeId       UTF-8
 *  17+n    4    headerCrc32c   CRC-32C (Castagnoli) of bytes [0, 17 + n)
 * </pre>
 * Records in {@link io.tapline.log.RecordCodec} format follow from offset H.
 *
 * <p>Immutable and thread-safe. The reference copy of this table is {@code docs/formats.md}.
 *
 * @param baseSequence the segment's first sequence
 * @param volumeId     the volume the segment belongs to
 */
record SegmentHeader(long baseSequence, String volumeId) {
    static final int MAGIC = 0x544C5347;
    static final int FORMAT_VERSION = 1;
    static final int MIN_VERSION = 1;
    static final int MAX_VERSION = 1;
    /** Header bytes other than the volume id. */
    static final int FIXED_BYTES = 21;
    static final int MAX_BYTES = FIXED_BYTES + 255;

    SegmentHeader {
        if (baseSequence < 1) {
            throw new IllegalArgumentException("baseSequence: " + baseSequence + " (expected: >= 1)");
        }
        int n = volumeId.getBytes(StandardCharsets.UTF_8).length;
        if (n < 1 || n > 255) {
            throw new IllegalArgumentException("volumeId: " + n + " UTF-8 bytes (expected: 1..255)");
        }
    }

    /** Encoded size in bytes. */
    int sizeBytes() {
        return sizeFor(volumeId);
    }

    /** Encoded size of the header of a segment of {@code volumeId}. */
    static int sizeFor(String volumeId) {
        return FIXED_BYTES + volumeId.getBytes(StandardCharsets.UTF_8).length;
    }

    /** The encoded header, ready to write. */
    ByteBuffer encode() {
        byte[] volume = volumeId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(FIXED_BYTES + volume.length);
        buf.putInt(MAGIC).putShort((short) FORMAT_VERSION).putShort((short) buf.capacity())
                .putLong(baseSequence).put((byte) volume.length).put(volume);
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), 0, buf.position());
        buf.putInt((int) crc.getValue());
        return buf.flip();
    }

    /**
     * Reads and checks the header of {@code file}.
     *
     * @throws BufferCorruptException on a bad magic, length or CRC (offset of the bad field)
     * @throws UnsupportedFormatVersionException on an unknown format version
     */
    static SegmentHeader read(FileChannel ch, Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(MAX_BYTES);
        int got = DurableFiles.readUpTo(ch, buf, 0);
        buf.flip();
        if (got < 8) {
            throw new BufferCorruptException(file, 0, "segment header: " + got + " bytes (expected: >= "
                    + (FIXED_BYTES + 1) + ")");
        }
        int magic = buf.getInt(0);
        if (magic != MAGIC) {
            throw new BufferCorruptException(file, 0,
                    String.format("magic: 0x%08x (expected: 0x%08x)", magic, MAGIC));
        }
        int version = buf.getShort(4) & 0xFFFF;
        if (version < MIN_VERSION || version > MAX_VERSION) {
            throw new UnsupportedFormatVersionException(file, version, MIN_VERSION, MAX_VERSION);
        }
        int length = buf.getShort(6) & 0xFFFF;
        if (length < FIXED_BYTES + 1 || length > MAX_BYTES || length > got) {
            throw new BufferCorruptException(file, 6, "headerLength: " + length + " (expected: "
                    + (FIXED_BYTES + 1) + ".." + Math.min(MAX_BYTES, got) + ")");
        }
        CRC32C crc = new CRC32C();
        crc.update(buf.array(), 0, length - 4);
        int stored = buf.getInt(length - 4);
        if (stored != (int) crc.getValue()) {
            throw new BufferCorruptException(file, length - 4,
                    String.format("headerCrc32c: 0x%08x (expected: 0x%08x)", stored, (int) crc.getValue()));
        }
        int n = buf.get(16) & 0xFF;
        if (FIXED_BYTES + n != length) {
            throw new BufferCorruptException(file, 16,
                    "volumeIdLength: " + n + " (expected: " + (length - FIXED_BYTES) + " from headerLength)");
        }
        long base = buf.getLong(8);
        if (base < 1) {
            throw new BufferCorruptException(file, 8, "baseSequence: " + base + " (expected: >= 1)");
        }
        return new SegmentHeader(base, new String(buf.array(), 17, n, StandardCharsets.UTF_8));
    }
}
