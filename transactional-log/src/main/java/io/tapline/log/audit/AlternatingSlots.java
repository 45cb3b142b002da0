package io.tapline.log.audit;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * A small file of two fixed-size slots written alternately (slot = generation mod 2), each
 * {@code magic(4) version(2) reserved(2) generation(8) body crc32c(4)}, the CRC over every byte
 * before it, the rest of the slot zero. A cut while one slot is written leaves the other: a
 * reader takes the valid slot with the higher generation. The audit head and the audit
 * checkpoint are such files (docs/formats.md).
 */
final class AlternatingSlots {
    private final int slotBytes;
    private final int magic;
    private final int version;
    private final int bodyBytes;

    AlternatingSlots(int slotBytes, int magic, int version, int bodyBytes) {
        if (16 + bodyBytes + 4 > slotBytes) {
            throw new IllegalArgumentException("body: " + bodyBytes + " bytes (expected: at most " + (slotBytes - 20)
                    + " in a " + slotBytes + "-byte slot)");
        }
        this.slotBytes = slotBytes;
        this.magic = magic;
        this.version = version;
        this.bodyBytes = bodyBytes;
    }

    /** Writes {@code body} (exactly the body's size) as generation {@code generation}'s slot; the caller forces. */
    void write(FileChannel ch, long generation, ByteBuffer body) throws IOException {
        if (body.remaining() != bodyBytes) {
            throw new IllegalArgumentException("body: " + body.remaining() + " bytes (expected: " + bodyBytes + ")");
        }
        ByteBuffer s = ByteBuffer.allocate(slotBytes);
        s.putInt(magic).putShort((short) version).putShort((short) 0).putLong(generation).put(body);
        CRC32C crc = new CRC32C();
        crc.update(s.array(), 0, 16 + bodyBytes);
        s.putInt((int) crc.getValue()).clear();
        DurableFiles.writeFully(ch, s, (generation % 2) * slotBytes);
    }

    /** The valid slot with the higher generation; null when the file is absent or has no valid slot. */
    Slot readNewest(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        Slot best = null;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (int slot = 0; slot < 2; slot++) {
                ByteBuffer s = ByteBuffer.allocate(slotBytes);
                if (DurableFiles.readUpTo(ch, s, (long) slot * slotBytes) < slotBytes || s.getInt(0) != magic
                        || (s.getShort(4) & 0xFFFF) != version) {
                    continue;
                }
                CRC32C crc = new CRC32C();
                crc.update(s.array(), 0, 16 + bodyBytes);
                if ((int) crc.getValue() != s.getInt(16 + bodyBytes)) {
                    continue;
                }
                long generation = s.getLong(8);
                if (best == null || generation > best.generation()) {
                    best = new Slot(generation, s.slice(16, bodyBytes));
                }
            }
        }
        return best;
    }

    /** A valid slot: its generation and its body. */
    record Slot(long generation, ByteBuffer body) {
    }
}
