package io.tapline.replay;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The {@code volume.meta} file of a replicated volume: what the volume is, fixed when the first
 * session created it. Written once, by temp file + fsync + rename + directory fsync. Big-endian.
 *
 * <pre>
 * offset size field
 *  0      4   magic            0x5450564D ("TPVM")
 *  4      2   version          1
 *  6      8   volumeSizeBytes
 * 14      4   blockSizeBytes
 * 18      2   sourceIdLength n
 * 20      n   sourceId         UTF-8
 * 20+n    4   crc32c           CRC-32C of bytes [0, 20+n)
 * </pre>
 *
 * <p>Immutable value; the static methods do file I/O on the caller's thread.
 */
record VolumeMeta(long volumeSizeBytes, int blockSizeBytes, String sourceId) {
    static final String FILE = "volume.meta";
    static final int MAGIC = 0x5450564D;
    static final int VERSION = 1;

    /** Reads and checks {@code dir/volume.meta}; null when it does not exist. */
    static VolumeMeta read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return null;
        }
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        if (bytes.length < 24) {
            throw corrupt(file, "length: " + bytes.length + " bytes (expected: >= 24)");
        }
        int magic = buf.getInt();
        if (magic != MAGIC) {
            throw corrupt(file, String.format("magic: 0x%08x (expected: 0x%08x)", magic, MAGIC));
        }
        int version = buf.getShort() & 0xFFFF;
        if (version != VERSION) {
            throw corrupt(file, "version: " + version + " (expected: " + VERSION + ".." + VERSION + ")");
        }
        long size = buf.getLong();
        int blockSize = buf.getInt();
        int n = buf.getShort() & 0xFFFF;
        if (bytes.length != 24 + n) {
            throw corrupt(file, "length: " + bytes.length + " bytes (expected: " + (24 + n) + ")");
        }
        byte[] source = new byte[n];
        buf.get(source);
        int stored = buf.getInt();
        int actual = crc(bytes, 20 + n);
        if (stored != actual) {
            throw corrupt(file, String.format("crc32c: 0x%08x (expected: 0x%08x)", actual, stored));
        }
        return new VolumeMeta(size, blockSize, new String(source, StandardCharsets.UTF_8));
    }

    /** Writes {@code dir/volume.meta} atomically and durably. */
    void write(Path dir) throws IOException {
        byte[] source = sourceId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(24 + source.length);
        buf.putInt(MAGIC).putShort((short) VERSION).putLong(volumeSizeBytes).putInt(blockSizeBytes)
                .putShort((short) source.length).put(source);
        buf.putInt(crc(buf.array(), 20 + source.length));
        DurableFiles.replace(dir.resolve(FILE), buf.array());
    }

    private static int crc(byte[] bytes, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, length);
        return (int) crc.getValue();
    }

    private static IOException corrupt(Path file, String detail) {
        return new IOException("corrupt volume metadata " + file + ": " + detail);
    }
}
