package io.tapline.log.audit;

import io.tapline.log.DurableFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Checks a volume's audit chain, opening the files read-only: every entry's CRC, its index
 * (dense from 1), its hash over the previous hash, and the head's count and hash. Names the
 * first bad entry: altered (CRC or hash), removed or reordered (index out of place), inserted
 * (hash), truncated (fewer entries than the head records, or a torn last entry).
 *
 * <p>Stateless and thread-safe.
 */
public final class AuditVerifier {
    private AuditVerifier() {
    }

    /**
     * The outcome of a check.
     *
     * @param intact             every entry and the head agree
     * @param tornTail           the only problem is an incomplete last entry (a crash while appending)
     * @param problem            the first problem, naming the entry; empty when intact
     * @param entries            entries that verified
     * @param validBytes         bytes of the log that verified
     * @param lastHash           hash of the last verified entry (32 zero bytes if none)
     * @param headGeneration     generation of the valid head slot, 0 if none
     * @param lastRecordSequence see {@link AuditLog#lastRecordSequence()}
     */
    public record Result(boolean intact, boolean tornTail, String problem, long entries, long validBytes,
            byte[] lastHash, long headGeneration, long lastRecordSequence) {
    }

    /** Verifies {@code volumeDir/audit/}; an absent log is an intact empty one. */
    public static Result verify(Path volumeDir) throws IOException {
        return walk(volumeDir, null);
    }

    static void scan(Path volumeDir, List<AuditEntry> out) throws IOException {
        walk(volumeDir, out);
    }

    private static Result walk(Path volumeDir, List<AuditEntry> out) throws IOException {
        Path dir = volumeDir.resolve(AuditLog.DIR);
        Path logFile = dir.resolve(AuditLog.LOG);
        long[] head = readHead(dir.resolve(AuditLog.HEAD));
        byte[] headHash = head == null ? null : Arrays.copyOfRange(longsToBytes(head), 16, 48);
        long headEntries = head == null ? 0 : head[1];
        long headGen = head == null ? 0 : head[0];
        byte[] prev = new byte[32];
        long entries = 0;
        long pos = 0;
        long lastRecordSeq = 0;
        if (!Files.exists(logFile)) {
            return headEntries == 0 ? new Result(true, false, "", 0, 0, prev, headGen, 0)
                    : new Result(false, false, "truncated: the log is missing, the head records " + headEntries
                            + " entries", 0, 0, prev, headGen, 0);
        }
        MessageDigest sha = AuditLog.sha256();
        try (FileChannel ch = FileChannel.open(logFile, StandardOpenOption.READ)) {
            long size = ch.size();
            while (pos < size) {
                long expected = entries + 1;
                ByteBuffer lenBuf = ByteBuffer.allocate(4);
                int got = DurableFiles.readUpTo(ch, lenBuf, pos);
                long len = got < 4 ? -1 : lenBuf.getInt(0) & 0xFFFFFFFFL;
                if (got < 4 || len < AuditLog.FIXED - 4 + 32 || len > AuditLog.FIXED + 2 * 4096 + 32
                        || pos + 4 + len > size) {
                    boolean torn = got < 4 || pos + 4 + len > size;
                    String what = torn ? "truncated tail: entry " + expected + " is incomplete at offset " + pos
                            : "entry " + expected + " altered: entryLength " + len + " at offset " + pos;
                    return new Result(false, torn && expected > headEntries, what, entries, pos, prev, headGen,
                            lastRecordSeq);
                }
                ByteBuffer e = ByteBuffer.allocate((int) (4 + len));
                DurableFiles.readUpTo(ch, e, pos);
                byte[] a = e.array();
                CRC32C crc = new CRC32C();
                crc.update(a, 8, a.length - 8);
                if ((int) crc.getValue() != e.getInt(4)) {
                    boolean last = pos + 4 + len == size && expected > headEntries;
                    return new Result(false, last, "entry " + expected + " altered: crc32c mismatch at offset " + pos,
                            entries, pos, prev, headGen, lastRecordSeq);
                }
                long index = e.getLong(12);
                if (index != expected) {
                    String what = index > expected
                            ? "entry " + expected + " removed or reordered: entry " + index + " found in its place at offset "
                                    + pos
                            : "entry " + index + " out of place at position " + expected + " (reordered or inserted) at offset "
                                    + pos;
                    return new Result(false, false, what, entries, pos, prev, headGen, lastRecordSeq);
                }
                sha.reset();
                sha.update(prev);
                sha.update(a, 8, a.length - 8 - 32);
                byte[] hash = sha.digest();
                if (!MessageDigest.isEqual(hash, Arrays.copyOfRange(a, a.length - 32, a.length))) {
                    return new Result(false, false, "entry " + expected + " altered or inserted: hash does not chain"
                            + " at offset " + pos, entries, pos, prev, headGen, lastRecordSeq);
                }
                AuditEntry entry = decode(e, hash);
                switch (entry.type()) {
                    case RECORD, GAP, MARK -> lastRecordSeq = Math.max(lastRecordSeq, entry.sequence());
                    case ROLLBACK, RECOVERY -> lastRecordSeq = entry.captureTimeNanos();
                    default -> { }
                }
                if (out != null) {
                    out.add(entry);
                }
                prev = hash;
                entries++;
                pos += 4 + len;
                if (entries == headEntries && headHash != null && !MessageDigest.isEqual(hash, headHash)) {
                    return new Result(false, false, "entry " + entries + " does not match the head's hash", entries,
                            pos, prev, headGen, lastRecordSeq);
                }
            }
        }
        if (entries < headEntries) {
            return new Result(false, false, "truncated: the log ends after entry " + entries + ", the head records "
                    + headEntries + " entries (entry " + (entries + 1) + " onwards removed)", entries, pos, prev,
                    headGen, lastRecordSeq);
        }
        return new Result(true, false, "", entries, pos, prev, headGen, lastRecordSeq);
    }

    private static AuditEntry decode(ByteBuffer e, byte[] hash) {
        AuditType type = AuditType.fromWireValue(e.get(9) & 0xFF);
        byte[] digest = new byte[32];
        e.position(64);
        e.get(digest);
        byte[] w = new byte[e.getShort() & 0xFFFF];
        e.get(w);
        byte[] d = new byte[e.getShort() & 0xFFFF];
        e.get(d);
        return new AuditEntry(e.getLong(12), e.getLong(20), type, e.getLong(28), e.getLong(36), e.getLong(44),
                e.getLong(52), e.get(60) & 0xFF, e.getShort(62) & 0xFFFF, digest,
                new String(w, StandardCharsets.UTF_8), new String(d, StandardCharsets.UTF_8), hash);
    }

    /** [generation, entries, hash as 4 longs] of the valid slot with the higher generation; null if none. */
    private static long[] readHead(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        long[] best = null;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (int slot = 0; slot < 2; slot++) {
                ByteBuffer s = ByteBuffer.allocate(AuditLog.SLOT);
                if (DurableFiles.readUpTo(ch, s, (long) slot * AuditLog.SLOT) < AuditLog.SLOT || s.getInt(0) != AuditLog.HEAD_MAGIC) {
                    continue;
                }
                CRC32C crc = new CRC32C();
                crc.update(s.array(), 0, 56);
                if ((int) crc.getValue() != s.getInt(56) || (s.getShort(4) & 0xFFFF) != AuditLog.VERSION) {
                    continue;
                }
                long gen = s.getLong(8);
                if (best == null || gen > best[0]) {
                    best = new long[] {gen, s.getLong(16), s.getLong(24), s.getLong(32), s.getLong(40), s.getLong(48)};
                }
            }
        }
        return best;
    }

    private static byte[] longsToBytes(long[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }
}
