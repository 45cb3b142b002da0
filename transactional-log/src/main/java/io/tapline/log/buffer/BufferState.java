package io.tapline.log.buffer;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The buffer's state file {@code buffer.state}: its configuration (so that another process can
 * report the high-water mark and maximum), the writes lost while FULL and not yet covered by a
 * GAP record, and the number of GAP records appended. Big-endian.
 *
 * <pre>
 * offset  size  field
 *   0      4    magic           0x544C4253 ("TLBS")
 *   4      2    formatVersion   1 (this code reads 1..1)
 *   6      2    flags           bit 0 RANGE_UNKNOWN: the lost range is not known, a GAP covers the whole volume
 *   8      8    segmentBytes    configured segment size
 *  16      8    maxBytes        configured maximum
 *  24      8    highWaterBytes  configured high-water mark
 *  32      8    lostWrites      records not stored while FULL (0: not FULL)
 *  40      8    lostOffsetBytes smallest offset of a lost write
 *  48      8    lostEndBytes    largest end (offset + length) of a lost write
 *  56      8    gapRecords      GAP records appended since the buffer was created
 *  64      1    volumeIdLength  n (1..255)
 *  65      n    volumeId        UTF-8
 *  65+n    4    crc32c          CRC-32C (Castagnoli) of bytes [0, 65 + n)
 * </pre>
 *
 * <p>Immutable and thread-safe. The reference copy of this table is {@code docs/formats.md}.
 *
 * @param volumeId        the volume
 * @param config          the buffer's sizing
 * @param lostWrites      records not stored while FULL
 * @param lostOffsetBytes smallest offset lost (meaningful when lostWrites > 0)
 * @param lostEndBytes    largest end lost
 * @param rangeUnknown    the lost range is not known
 * @param gapRecords      GAP records appended so far
 */
record BufferState(String volumeId, BufferConfig config, long lostWrites, long lostOffsetBytes, long lostEndBytes,
        boolean rangeUnknown, long gapRecords) {
    static final int MAGIC = 0x544C4253;
    static final int FORMAT_VERSION = 1;
    static final int FIXED_BYTES = 69;
    static final int FLAG_RANGE_UNKNOWN = 1;

    /** Whether writes were lost and no GAP record covers them yet. */
    boolean full() {
        return lostWrites > 0 || rangeUnknown;
    }

    ByteBuffer encode() {
        byte[] volume = volumeId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(FIXED_BYTES + volume.length);
        buf.putInt(MAGIC).putShort((short) FORMAT_VERSION).putShort((short) (rangeUnknown ? FLAG_RANGE_UNKNOWN : 0))
                .putLong(config.segmentBytes()).putLong(config.maxBytes()).putLong(config.highWaterBytes())
                .putLong(lostWrites).putLong(lostOffsetBytes).putLong(lostEndBytes).putLong(gapRecords)
                .put((byte) volume.length).put(volume);
        return SmallFileCheck.sealed(buf);
    }

    /**
     * Decodes a state file's bytes.
     *
     * @throws BufferCorruptException on a bad magic, length or CRC
     * @throws UnsupportedFormatVersionException on an unknown format version
     */
    static BufferState decode(ByteBuffer buf, Path file) throws IOException {
        String repair = "delete the file: the buffer then assumes it was FULL with an unknown range and "
                + "records a GAP over the whole volume";
        int n = SmallFileCheck.check(buf, file, "state", MAGIC, FORMAT_VERSION, FIXED_BYTES, 64, "volumeIdLength",
                repair);
        int flags = buf.getShort(6) & 0xFFFF;
        BufferConfig config = new BufferConfig(buf.getLong(8), buf.getLong(16), buf.getLong(24));
        return new BufferState(new String(buf.array(), 65, n, StandardCharsets.UTF_8), config, buf.getLong(32),
                buf.getLong(40), buf.getLong(48), (flags & FLAG_RANGE_UNKNOWN) != 0, buf.getLong(56));
    }

    /** Reads the state file. */
    static BufferState read(Path file) throws IOException {
        return decode(DurableFiles.readSmallFile(file, FIXED_BYTES + 255), file);
    }
}
