package io.tapline.replay;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The two small control files of a volume that steer rollback, each replaced whole and durably
 * (temp file, fsync, rename, directory fsync) and deleted durably. Big-endian.
 *
 * <pre>
 * rollback.intent: present from the start of a rollback until it is complete
 * paused:          present while the volume refuses its source (after a rollback)
 * offset size field
 *  0      4   magic      0x54505249 ("TPRI") intent, 0x54505041 ("TPPA") paused
 *  4      2   version    1
 *  6      2   reserved   0
 *  8      8   target     intent: the sequence to roll back to; paused: the sequence rolled back to
 * 16      8   from       the applied sequence when the rollback started
 * 24      8   millis     when it started (UTC milliseconds)
 * 32      2   n          length of text
 * 34      n   text       intent: the actor; paused: the reason given to sources
 * 34+n    4   crc32c     CRC-32C of bytes [0, 34 + n)
 * </pre>
 *
 * @param target the rollback target sequence
 * @param from   the applied sequence the rollback started from
 * @param millis when the rollback started
 * @param text   actor (intent) or reason (paused)
 */
record ControlFiles(long target, long from, long millis, String text) {
    static final String INTENT = "rollback.intent";
    static final String PAUSED = "paused";
    static final int INTENT_MAGIC = 0x54505249;
    static final int PAUSED_MAGIC = 0x54505041;
    static final int VERSION = 1;

    void write(Path dir, String name) throws IOException {
        byte[] t = text.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(38 + t.length);
        b.putInt(INTENT.equals(name) ? INTENT_MAGIC : PAUSED_MAGIC).putShort((short) VERSION).putShort((short) 0)
                .putLong(target).putLong(from).putLong(millis).putShort((short) t.length).put(t);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, 34 + t.length);
        b.putInt((int) crc.getValue());
        DurableFiles.replace(dir.resolve(name), b.array());
    }

    /** Reads {@code dir/name}; null when absent. */
    static ControlFiles read(Path dir, String name) throws IOException {
        Path file = dir.resolve(name);
        if (!Files.exists(file)) {
            return null;
        }
        byte[] bytes = Files.readAllBytes(file);
        int magic = INTENT.equals(name) ? INTENT_MAGIC : PAUSED_MAGIC;
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (bytes.length < 38 || b.getInt(0) != magic) {
            throw new IOException("control file " + file + ": length " + bytes.length + " or magic (expected: >= 38, "
                    + String.format("0x%08x)", magic));
        }
        int version = b.getShort(4) & 0xFFFF;
        if (version != VERSION) {
            throw new IOException("control file " + file + ": version: " + version + " (expected: 1..1)");
        }
        int n = b.getShort(32) & 0xFFFF;
        if (bytes.length != 38 + n) {
            throw new IOException("control file " + file + ": length: " + bytes.length + " (expected: " + (38 + n) + ")");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, 34 + n);
        if ((int) crc.getValue() != b.getInt(34 + n)) {
            throw new IOException(String.format("control file %s: crc32c: 0x%08x (expected: 0x%08x)", file,
                    (int) crc.getValue(), b.getInt(34 + n)));
        }
        return new ControlFiles(b.getLong(8), b.getLong(16), b.getLong(24),
                new String(bytes, 34, n, StandardCharsets.UTF_8));
    }

    static void delete(Path dir, String name) throws IOException {
        if (Files.deleteIfExists(dir.resolve(name))) {
            DurableFiles.syncDirectory(dir);
        }
    }
}
