package io.tapline.log.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * A point of a volume's audit chain that its writer had made durable ({@code audit/audit.checkpoint}):
 * entry {@code entries} starts at byte {@code entryStart} of {@code audit.log}, the log's first
 * {@code endOffset} bytes hold entries 1..{@code entries}, the entry's hash is {@code hash}, and
 * {@link AuditLog#lastRecordSequence()} after it was {@code lastRecordSequence}. A replayer that
 * opens the log checks the chain from here, not from entry 1 (its open takes time in proportion
 * to what was appended since the checkpoint, not to the volume's history); {@code tapline audit
 * verify} still reads the whole chain. A hint: a checkpoint that is missing, damaged or does not
 * match the log (the entry at {@code entryStart} is not entry {@code entries} with that hash)
 * makes the open check the whole chain again.
 *
 * <pre>
 * audit.checkpoint: two 128-byte slots written alternately (slot = generation mod 2), fdatasync'd
 *  0 4 magic 0x54504143 ("TPAC") | 4 2 version 1 | 6 2 reserved | 8 8 generation
 * 16 8 entries | 24 8 entryStart | 32 8 endOffset | 40 8 lastRecordSequence | 48 32 hash
 * 80 4 crc32c of [0, 80) | 84 44 reserved (zero)
 * </pre>
 *
 * @param generation         the slot's generation, from 1
 * @param entries            the index of the checkpointed entry (entries 1..this are before it)
 * @param entryStart         where that entry starts in {@code audit.log}
 * @param endOffset          where it ends (the first byte after it)
 * @param lastRecordSequence the log's last record sequence after that entry
 * @param hash               that entry's hash
 */
record AuditCheckpoint(long generation, long entries, long entryStart, long endOffset, long lastRecordSequence,
        byte[] hash) {
    static final String FILE = "audit.checkpoint";
    static final AlternatingSlots SLOTS = new AlternatingSlots(128, 0x54504143, 1, 64);

    /** The file's newest valid checkpoint, or null when it is absent or has no valid slot. */
    static AuditCheckpoint read(Path auditDir) throws IOException {
        AlternatingSlots.Slot s = SLOTS.readNewest(auditDir.resolve(FILE));
        if (s == null) {
            return null;
        }
        ByteBuffer b = s.body();
        byte[] hash = new byte[32];
        b.get(32, hash);
        return new AuditCheckpoint(s.generation(), b.getLong(0), b.getLong(8), b.getLong(16), b.getLong(24), hash);
    }

    /** This checkpoint's body, to be written with {@link #SLOTS}. */
    ByteBuffer body() {
        return ByteBuffer.allocate(64).putLong(entries).putLong(entryStart).putLong(endOffset)
                .putLong(lastRecordSequence).put(hash).flip();
    }
}
